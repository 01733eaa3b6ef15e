import type { WindowGate } from "./window-gate.ts";
import { loadInstancesById, type ServiceInstance } from "./cluster-view.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { DeploymentRow, ServiceRow, TaskRow } from "../db/rows.ts";
import { taskDefinitionRevision, type TaskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { deploymentConfigurationOf, liveDeployments, unstoppedServiceTasks } from "./store.ts";
import type { DeploymentConfiguration } from "./deployment-math.ts";
import { isDeactivating } from "./deactivation.ts";
import { hasHealthChecks, isFailingHealthChecks, isHealthy, isInstanceLost } from "./task-health.ts";

/** What one reconcile round knows about the cluster, shared by its services. */
export interface ClusterView {
  now: number;
  /** The instances the round's services care about (see loadServiceInstances). */
  instances: Map<string, ServiceInstance>;
  /** When the scheduler first saw an instance disconnected (never earlier than its own start). */
  disconnectedSince(inst: ServiceInstance): number | undefined;
  /** Names of the cluster's DAEMON services (draining removes their tasks last). */
  daemonServices: Set<string>;
  /** The cluster's deployment windows: which hosts a deployment may change now. */
  windows: WindowGate;
}

/** A service task as one reconcile round classifies it. */
export interface ClassifiedTask {
  task: TaskRow;
  lost: boolean;
  draining: boolean;
  healthy: boolean;
  failingHealthChecks: boolean;
}

export interface ServiceSnapshot {
  svc: ServiceRow;
  cfg: DeploymentConfiguration;
  deps: DeploymentRow[];
  primary: DeploymentRow;
  /** Revisions by ARN, whatever their status: a service keeps running a deregistered revision. */
  tds: Map<string, TaskDefinitionRevision>;
  /** Tasks desired RUNNING. */
  tasks: ClassifiedTask[];
  /**
   * Tasks asked to stop (by the scheduler or a user) that their agent has not reported STOPPED yet.
   * They serve nothing but still run on their host, so they count toward maximumPercent. Those on
   * a lost instance are left out: nobody can tell when they stop (see LOST_REASON).
   */
  stopping: ClassifiedTask[];
}

/** A revision the store has (tasks and deployments only name stored ones), from the per-database cache. */
export async function taskDefinitionByArn(ctx: OpsContext, arn: string): Promise<TaskDefinitionRevision> {
  const td = await taskDefinitionRevision(ctx.db, arn);
  if (!td) throw new Error(`task definition ${arn} is not in the database`);
  return td;
}

export async function loadSnapshot(ctx: OpsContext, svc: ServiceRow, view: ClusterView): Promise<ServiceSnapshot | null> {
  const deps = await liveDeployments(ctx, svc.clusterName, svc.serviceName);
  const primary = deps.find((d) => d.status === "PRIMARY");
  if (!primary) return null;
  const unstopped = await unstoppedServiceTasks(ctx, svc.clusterName, svc.serviceName);
  const tds = new Map<string, TaskDefinitionRevision>();
  for (const arn of new Set([...deps.map((d) => d.taskDefinitionArn), ...unstopped.map((t) => t.taskDefinitionArn)])) {
    tds.set(arn, await taskDefinitionByArn(ctx, arn));
  }
  // A task placed after the round read its instances (none should be: the scheduler starts a
  // service's tasks itself, after its snapshot) would look lost for want of its instance.
  const missing = [...new Set(unstopped.map((t) => t.instanceId))].filter((id) => !view.instances.has(id));
  for (const inst of await loadInstancesById(ctx, missing)) view.instances.set(inst.id, inst);
  const checksOf = (arn: string) => hasHealthChecks(tds.get(arn)!.spec);
  const classified = unstopped.map((task): ClassifiedTask => {
    const inst = view.instances.get(task.instanceId);
    const lost = isInstanceLost(inst, svc.disconnectGracePeriodSeconds, inst ? view.disconnectedSince(inst) : undefined, view.now);
    const checks = checksOf(task.taskDefinitionArn);
    return {
      task,
      lost,
      draining: inst?.status === "DRAINING",
      healthy: !lost && isHealthy(task, checks),
      failingHealthChecks: !lost && isFailingHealthChecks(task, checks, svc.healthCheckGracePeriodSeconds, view.now),
    };
  });
  // A deactivating task (deactivation.ts) has left the service already: it stops once its
  // deregistration delay has passed, and until it has STOPPED it counts toward maximumPercent.
  const tasks = classified.filter((t) => t.task.desiredStatus === "RUNNING" && !isDeactivating(t.task));
  const stopping = classified.filter((t) => (t.task.desiredStatus !== "RUNNING" || isDeactivating(t.task)) && !t.lost);
  return { svc, cfg: deploymentConfigurationOf(svc), deps, primary, tds, tasks, stopping };
}

/** Live tasks per deployment id (lost ones included: they still hold their deployment open). */
export function liveByDeployment(tasks: ClassifiedTask[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tasks) if (t.task.deploymentId) m.set(t.task.deploymentId, (m.get(t.task.deploymentId) ?? 0) + 1);
  return m;
}

/** Order in which surplus tasks are stopped: not-yet-running first, then the newest. */
export function stopOrder(a: ClassifiedTask, b: ClassifiedTask): number {
  const ar = a.task.lastStatus === "RUNNING" ? 1 : 0;
  const br = b.task.lastStatus === "RUNNING" ? 1 : 0;
  if (ar !== br) return ar - br;
  if (a.healthy !== b.healthy) return a.healthy ? 1 : -1;
  return b.task.createdAt - a.task.createdAt;
}
