ALTER TABLE `tasks` ADD `deactivating_at` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `deactivation_ends_at` integer;
