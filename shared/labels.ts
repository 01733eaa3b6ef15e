/** Docker labels by which an agent recognises its own containers (and never touches others). */
export const LABELS = {
  taskId: "flotilla.task-id",
  containerName: "flotilla.container-name",
  cluster: "flotilla.cluster",
  instanceId: "flotilla.instance-id",
  taskDefinition: "flotilla.task-definition",
} as const;
