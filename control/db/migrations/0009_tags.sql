CREATE TABLE `tags` (
	`resource_arn` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`resource_arn`, `key`)
);
