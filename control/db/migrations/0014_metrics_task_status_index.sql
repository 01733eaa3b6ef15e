CREATE INDEX `tasks_cluster_last_status` ON `tasks` (`cluster_name`,`last_status`);
