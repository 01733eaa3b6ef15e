ALTER TABLE `deployments` ADD `reached_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `deployments` ADD `waiting_hosts` text;--> statement-breakpoint
CREATE TABLE `deployment_windows` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`name` text NOT NULL,
	`schedule` text NOT NULL,
	`duration_minutes` integer NOT NULL,
	`time_zone` text NOT NULL,
	`filter` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deployment_windows_cluster` ON `deployment_windows` (`cluster_name`,`name`);--> statement-breakpoint
CREATE TABLE `deployment_window_overrides` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`filter` text,
	`until` integer NOT NULL,
	`created_by` text,
	`reason` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deployment_window_overrides_cluster` ON `deployment_window_overrides` (`cluster_name`,`until`);
