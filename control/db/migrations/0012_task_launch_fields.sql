ALTER TABLE `tasks` ADD `overrides` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `client_token` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `client_request` text;--> statement-breakpoint
CREATE INDEX `tasks_client_token` ON `tasks` (`cluster_name`,`client_token`);