CREATE TABLE `pull_limits` (
	`cluster_name` text PRIMARY KEY NOT NULL,
	`limits` text NOT NULL,
	`updated_at` integer NOT NULL
);
