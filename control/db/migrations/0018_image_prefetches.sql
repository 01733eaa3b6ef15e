CREATE TABLE `image_prefetches` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`task_definition_arn` text,
	`images` text NOT NULL,
	`status` text NOT NULL,
	`targets` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `image_prefetches_status` ON `image_prefetches` (`status`);--> statement-breakpoint
CREATE INDEX `image_prefetches_cluster` ON `image_prefetches` (`cluster_name`,`created_at`);
--> statement-breakpoint
ALTER TABLE `deployments` ADD `prefetch_id` text;
