import { appendEvents } from "../events/log.ts";
import { deploymentStateChange } from "../events/shapes.ts";
import { and, count, eq, inArray, ne } from "drizzle-orm";
import { deployments, services, tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { circuitBreakerThreshold, type DeploymentConfiguration } from "./deployment-math.ts";
import { addServiceEvent } from "./events.ts";
import type { DeploymentRow, ServiceRow } from "../db/rows.ts";
import { allDeployments, newDeploymentId } from "./store.ts";
import { isFailedTask } from "./task-health.ts";

/** Failed tasks per deployment, counted from the stored tasks (level-triggered, restart-safe). */
export async function failedTasksByDeployment(ctx: OpsContext, svc: ServiceRow, depIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (depIds.length === 0) return out;
  const rows = await ctx.db
    .select({ deploymentId: tasks.deploymentId, stopCode: tasks.stopCode, stoppedReason: tasks.stoppedReason, n: count() })
    .from(tasks)
    .where(
      and(
        eq(tasks.clusterName, svc.clusterName),
        eq(tasks.serviceName, svc.serviceName),
        inArray(tasks.deploymentId, depIds),
        eq(tasks.desiredStatus, "STOPPED"),
      ),
    )
    .groupBy(tasks.deploymentId, tasks.stopCode, tasks.stoppedReason)
    .all();
  for (const r of rows) if (r.deploymentId && isFailedTask(r)) out.set(r.deploymentId, (out.get(r.deploymentId) ?? 0) + r.n);
  return out;
}

/** Stores failed-task counts that changed. */
export async function recordFailedTasks(ctx: OpsContext, deps: DeploymentRow[], failed: Map<string, number>): Promise<void> {
  for (const d of deps) {
    const n = failed.get(d.id) ?? 0;
    if (n !== d.failedTasks) {
      await ctx.serialize(() => ctx.db.update(deployments).set({ failedTasks: n, updatedAt: ctx.clock.now() }).where(eq(deployments.id, d.id)));
      d.failedTasks = n;
    }
  }
}

/**
 * ECS's deployment circuit breaker: an IN_PROGRESS primary with at least the threshold of failed
 * tasks is FAILED; with rollback, a new primary deployment returns to the task definition of the
 * last COMPLETED deployment. Returns true when it changed the deployments.
 */
export async function checkCircuitBreaker(ctx: OpsContext, svc: ServiceRow, primary: DeploymentRow, cfg: DeploymentConfiguration): Promise<boolean> {
  if (!cfg.deploymentCircuitBreaker.enable || primary.rolloutState !== "IN_PROGRESS") return false;
  const threshold = circuitBreakerThreshold(primary.desiredCount);
  if (primary.failedTasks < threshold) return false;
  const reason = `tasks failed to start: ${primary.failedTasks} failed tasks reached the circuit breaker threshold of ${threshold}`;
  const target = cfg.deploymentCircuitBreaker.rollback
    ? (await allDeployments(ctx, svc.clusterName, svc.serviceName)).find((d) => d.id !== primary.id && d.rolloutState === "COMPLETED")
    : undefined;
  const now = ctx.clock.now();
  const rollbackId = newDeploymentId();
  // One transaction: the deployment change and its events commit together (and, for the leader, under one fence check).
  const changed = await ctx.serialize(() => ctx.db.transaction(async (tx) => {
    const res = await tx
      .update(deployments)
      .set({
        rolloutState: "FAILED",
        rolloutStateReason: `ECS deployment circuit breaker: ${reason}.`,
        status: target ? "ACTIVE" : "PRIMARY",
        updatedAt: now,
      })
      .where(and(eq(deployments.id, primary.id), eq(deployments.status, "PRIMARY"), eq(deployments.rolloutState, "IN_PROGRESS")));
    if (res.rowsAffected !== 1) return false;
    const events = [deploymentStateChange(primary, "SERVICE_DEPLOYMENT_FAILED", `ECS deployment circuit breaker: ${reason}.`, now)];
    if (target) events.push(deploymentStateChange({ id: rollbackId, clusterName: svc.clusterName, serviceName: svc.serviceName }, "SERVICE_DEPLOYMENT_IN_PROGRESS", `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`, now));
    await appendEvents(tx, now, events);
    if (target) {
      await tx.insert(deployments).values({
        id: rollbackId,
        clusterName: svc.clusterName,
        serviceName: svc.serviceName,
        status: "PRIMARY",
        rolloutState: "IN_PROGRESS",
        rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
        taskDefinitionArn: target.taskDefinitionArn,
        desiredCount: svc.desiredCount,
        failedTasks: 0,
        createdAt: now,
        updatedAt: now,
      });
      await tx
        .update(services)
        .set({ taskDefinitionArn: target.taskDefinitionArn, updatedAt: now })
        .where(and(eq(services.clusterName, svc.clusterName), eq(services.serviceName, svc.serviceName)));
    }
    return true;
  }));
  if (!changed) return false;
  ctx.eventSignal?.notify();
  const name = svc.serviceName;
  await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) (deployment ${primary.id}) deployment failed: ${reason}.`);
  if (target) await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) rolling back to deployment ${target.id} (task definition ${target.taskDefinitionArn}) as ${rollbackId}.`);
  return true;
}

/** The primary has converged: mark it COMPLETED and retire replaced deployments with no tasks left. */
export async function completeRollout(ctx: OpsContext, primary: DeploymentRow): Promise<void> {
  if (primary.rolloutState !== "IN_PROGRESS") return;
  await ctx.serialize(async () => {
    const now = ctx.clock.now();
    const done = await ctx.db.transaction(async (tx) => {
      const res = await tx
        .update(deployments)
        .set({ rolloutState: "COMPLETED", rolloutStateReason: "ECS deployment completed.", updatedAt: now })
        .where(and(eq(deployments.id, primary.id), eq(deployments.status, "PRIMARY"), eq(deployments.rolloutState, "IN_PROGRESS")));
      if (res.rowsAffected !== 1) return false;
      await appendEvents(tx, now, [deploymentStateChange(primary, "SERVICE_DEPLOYMENT_COMPLETED", "ECS deployment completed.", now)]);
      return true;
    });
    if (done) ctx.eventSignal?.notify();
  });
  primary.rolloutState = "COMPLETED";
}

/** Replaced (ACTIVE) deployments without live tasks become INACTIVE. */
export async function retireEmptyDeployments(ctx: OpsContext, deps: DeploymentRow[], liveByDeployment: Map<string, number>): Promise<void> {
  for (const d of deps) {
    if (d.status !== "ACTIVE" || (liveByDeployment.get(d.id) ?? 0) > 0) continue;
    await ctx.serialize(() =>
      ctx.db
        .update(deployments)
        .set({ status: "INACTIVE", desiredCount: 0, updatedAt: ctx.clock.now() })
        .where(and(eq(deployments.id, d.id), eq(deployments.status, "ACTIVE"))),
    );
    d.status = "INACTIVE";
  }
}

/** Keeps the primary deployment's desiredCount equal to what the scheduler aims for. */
export async function syncPrimaryDesired(ctx: OpsContext, primary: DeploymentRow, desired: number): Promise<void> {
  if (primary.desiredCount === desired) return;
  await ctx.serialize(() =>
    ctx.db.update(deployments).set({ desiredCount: desired, updatedAt: ctx.clock.now() }).where(and(eq(deployments.id, primary.id), ne(deployments.status, "INACTIVE"))),
  );
  primary.desiredCount = desired;
}
