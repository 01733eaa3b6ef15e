ALTER TABLE `container_instances` ADD `health_status` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `health_details` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `host_metrics` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `health_updated_at` integer;