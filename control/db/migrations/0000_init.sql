CREATE TABLE `activations` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`code_hash` text NOT NULL,
	`registration_limit` integer NOT NULL,
	`registrations_count` integer DEFAULT 0 NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_token_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `clusters` (
	`name` text PRIMARY KEY NOT NULL,
	`arn` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `container_instances` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`arn` text NOT NULL,
	`status` text NOT NULL,
	`activation_id` text NOT NULL,
	`credential_hash` text NOT NULL,
	`hostname` text NOT NULL,
	`agent_connected` integer DEFAULT false NOT NULL,
	`connection_epoch` integer DEFAULT 0 NOT NULL,
	`registered_cpu` integer NOT NULL,
	`registered_memory` integer NOT NULL,
	`used_cpu` integer DEFAULT 0 NOT NULL,
	`used_memory` integer DEFAULT 0 NOT NULL,
	`used_ports` text NOT NULL,
	`attributes` text NOT NULL,
	`version_info` text NOT NULL,
	`desired_generation` integer DEFAULT 0 NOT NULL,
	`reported_generation` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen_at` integer
);
--> statement-breakpoint
CREATE INDEX `container_instances_cluster` ON `container_instances` (`cluster_name`);--> statement-breakpoint
CREATE TABLE `task_definitions` (
	`family` text NOT NULL,
	`revision` integer NOT NULL,
	`arn` text NOT NULL,
	`status` text NOT NULL,
	`spec` text NOT NULL,
	`registered_at` integer NOT NULL,
	`deregistered_at` integer,
	PRIMARY KEY(`family`, `revision`)
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`arn` text NOT NULL,
	`instance_id` text NOT NULL,
	`family` text NOT NULL,
	`revision` integer NOT NULL,
	`task_definition_arn` text NOT NULL,
	`group` text NOT NULL,
	`started_by` text,
	`desired_status` text NOT NULL,
	`last_status` text NOT NULL,
	`containers` text NOT NULL,
	`reservation` text NOT NULL,
	`reserved` integer NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`stopping_at` integer,
	`stopped_at` integer,
	`stopped_reason` text,
	`stop_code` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_cluster_status` ON `tasks` (`cluster_name`,`desired_status`);--> statement-breakpoint
CREATE INDEX `tasks_instance` ON `tasks` (`instance_id`);