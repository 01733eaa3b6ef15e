ALTER TABLE `services` ADD `ingress` text;
