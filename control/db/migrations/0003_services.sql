CREATE TABLE `deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`service_name` text NOT NULL,
	`status` text NOT NULL,
	`rollout_state` text NOT NULL,
	`rollout_state_reason` text,
	`task_definition_arn` text NOT NULL,
	`desired_count` integer NOT NULL,
	`failed_tasks` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deployments_service` ON `deployments` (`cluster_name`,`service_name`,`status`);--> statement-breakpoint
CREATE TABLE `service_events` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`service_name` text NOT NULL,
	`created_at` integer NOT NULL,
	`message` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `service_events_service` ON `service_events` (`cluster_name`,`service_name`,`created_at`);--> statement-breakpoint
CREATE TABLE `services` (
	`cluster_name` text NOT NULL,
	`service_name` text NOT NULL,
	`arn` text NOT NULL,
	`status` text NOT NULL,
	`scheduling_strategy` text NOT NULL,
	`desired_count` integer NOT NULL,
	`task_definition_arn` text NOT NULL,
	`deployment_configuration` text NOT NULL,
	`placement_constraints` text NOT NULL,
	`placement_strategy` text NOT NULL,
	`health_check_grace_period_seconds` integer DEFAULT 0 NOT NULL,
	`disconnect_grace_period_seconds` integer DEFAULT 30 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`cluster_name`, `service_name`)
);
