ALTER TABLE `tasks` ADD `service_name` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `deployment_id` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `health_status` text DEFAULT 'UNKNOWN' NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_service` ON `tasks` (`cluster_name`,`service_name`);