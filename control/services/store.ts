import { and, eq, isNotNull, ne, or } from "drizzle-orm";
import type { DeploymentRow, ServiceRow, TaskRow } from "../db/rows.ts";
import { deployments, services, tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { PlacementConstraint, PlacementStrategy } from "../placement/index.ts";
import type { DeploymentConfiguration } from "./deployment-math.ts";

/** The stop code ECS gives tasks its service scheduler stops. */
export const SCHEDULER_STOP_CODE = "ServiceSchedulerInitiated";

export const serviceGroup = (serviceName: string) => `service:${serviceName}`;
export const deploymentStartedBy = (deploymentId: string) => deploymentId;

export function deploymentConfigurationOf(row: ServiceRow): DeploymentConfiguration {
  return row.deploymentConfiguration as DeploymentConfiguration;
}
export const constraintsOf = (row: ServiceRow) => row.placementConstraints as PlacementConstraint[];
export const strategiesOf = (row: ServiceRow) => row.placementStrategy as PlacementStrategy[];

/** ECS deployment ids look like "ecs-svc/" and 19 digits. */
export function newDeploymentId(): string {
  let digits = String(1 + Math.floor(Math.random() * 9));
  for (let i = 0; i < 18; i++) digits += String(Math.floor(Math.random() * 10));
  return `ecs-svc/${digits}`;
}

export async function getService(ctx: OpsContext, clusterName: string, serviceName: string): Promise<ServiceRow | undefined> {
  return ctx.db.select().from(services).where(and(eq(services.clusterName, clusterName), eq(services.serviceName, serviceName))).get();
}

/** Deployments still in play (PRIMARY first, then ACTIVE newest first). */
export async function liveDeployments(ctx: OpsContext, clusterName: string, serviceName: string): Promise<DeploymentRow[]> {
  const rows = await ctx.db
    .select()
    .from(deployments)
    .where(and(eq(deployments.clusterName, clusterName), eq(deployments.serviceName, serviceName), ne(deployments.status, "INACTIVE")))
    .all();
  return rows.sort((a, b) => (a.status === "PRIMARY" ? -1 : b.status === "PRIMARY" ? 1 : b.createdAt - a.createdAt));
}

export async function allDeployments(ctx: OpsContext, clusterName: string, serviceName: string): Promise<DeploymentRow[]> {
  const rows = await ctx.db
    .select()
    .from(deployments)
    .where(and(eq(deployments.clusterName, clusterName), eq(deployments.serviceName, serviceName)))
    .all();
  return rows.sort((a, b) => b.createdAt - a.createdAt);
}

/** The service's tasks desired RUNNING (what DescribeServices counts and endpoints list). */
export async function serviceTasks(ctx: OpsContext, clusterName: string, serviceName: string): Promise<TaskRow[]> {
  return ctx.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), eq(tasks.serviceName, serviceName), eq(tasks.desiredStatus, "RUNNING")))
    .all();
}

/** Every service task of the cluster desired RUNNING (service discovery reads them all at once). */
export async function clusterServiceTasks(ctx: OpsContext, clusterName: string): Promise<TaskRow[]> {
  return ctx.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), isNotNull(tasks.serviceName), eq(tasks.desiredStatus, "RUNNING")))
    .all();
}

/** A task asked to stop that its agent has not yet reported STOPPED: its containers may still run. */
export const notYetStopped = or(eq(tasks.desiredStatus, "RUNNING"), ne(tasks.lastStatus, "STOPPED"));

/**
 * The service's tasks that are not STOPPED yet: desired RUNNING, and desired STOPPED but still
 * stopping. The scheduler needs both: the second still holds its host's ports and resources, so
 * it counts toward maximumPercent (as in ECS) until the agent reports it STOPPED.
 */
export async function unstoppedServiceTasks(ctx: OpsContext, clusterName: string, serviceName: string): Promise<TaskRow[]> {
  return ctx.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), eq(tasks.serviceName, serviceName), notYetStopped))
    .all();
}
