/**
 * The row types every layer shares, next to the schema they come from. Operations, the service
 * scheduler, placement commits and views all pass these around; defining them here (the bottom
 * of the import graph) keeps that graph running one way: api → ops → services/scheduling → db.
 */
import type { clusters, containerInstances, deployments, serviceEvents, services, taskDefinitions, tasks } from "./schema.ts";

export type ClusterRow = typeof clusters.$inferSelect;
export type InstanceRow = typeof containerInstances.$inferSelect;
export type TaskDefinitionRow = typeof taskDefinitions.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;
export type ServiceRow = typeof services.$inferSelect;
export type DeploymentRow = typeof deployments.$inferSelect;
export type ServiceEventRow = typeof serviceEvents.$inferSelect;

/** ECS-shaped container entry stored on a task (`tasks.containers`). */
export interface TaskContainer {
  name: string;
  image: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
  /** GPU ids placement reserved for this container (ECS's Container.gpuIds). */
  gpuIds?: string[];
}
