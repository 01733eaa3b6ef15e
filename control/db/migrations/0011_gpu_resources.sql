ALTER TABLE `container_instances` ADD `registered_gpus` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `used_gpus` text DEFAULT '[]' NOT NULL;