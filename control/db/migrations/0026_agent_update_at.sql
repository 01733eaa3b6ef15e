ALTER TABLE `container_instances` ADD `agent_update_at` integer;
