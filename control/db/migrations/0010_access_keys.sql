CREATE TABLE `access_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_activations` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_name` text,
	`code_hash` text NOT NULL,
	`registration_limit` integer NOT NULL,
	`registrations_count` integer DEFAULT 0 NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`description` text,
	`default_instance_name` text,
	`iam_role` text,
	`tags` text
);
--> statement-breakpoint
INSERT INTO `__new_activations`("id", "cluster_name", "code_hash", "registration_limit", "registrations_count", "expires_at", "created_at", "revoked_at") SELECT "id", "cluster_name", "code_hash", "registration_limit", "registrations_count", "expires_at", "created_at", "revoked_at" FROM `activations`;--> statement-breakpoint
DROP TABLE `activations`;--> statement-breakpoint
ALTER TABLE `__new_activations` RENAME TO `activations`;--> statement-breakpoint
PRAGMA foreign_keys=ON;