ALTER TABLE `container_instances` ADD `agent_update_status` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `agent_update_version` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `agent_update_reason` text;--> statement-breakpoint
CREATE TABLE `agent_releases` (
	`version` text NOT NULL,
	`architecture` text NOT NULL,
	`sha256` text NOT NULL,
	`signature` text NOT NULL,
	`size` integer NOT NULL,
	`file` text NOT NULL,
	`uploaded_at` integer NOT NULL,
	PRIMARY KEY(`version`, `architecture`)
);
--> statement-breakpoint
CREATE TABLE `agent_upgrades` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`version` text NOT NULL,
	`batch_size` integer NOT NULL,
	`max_failures` integer NOT NULL,
	`pause_ms` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`targets` text NOT NULL,
	`download_base` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_upgrades_cluster` ON `agent_upgrades` (`cluster_name`,`status`);
