ALTER TABLE `clusters` ADD `discovery_generation` integer DEFAULT 0 NOT NULL;
