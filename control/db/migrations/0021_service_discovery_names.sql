ALTER TABLE `services` ADD `discovery` text;
