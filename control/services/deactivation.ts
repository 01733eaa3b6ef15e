import { and, eq, inArray, isNotNull, isNull, lte } from "drizzle-orm";
import { tasks } from "../db/schema.ts";
import type { ServiceRow, TaskRow } from "../db/rows.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { deregistrationDelayMs } from "../../shared/ingress.ts";
import { appendEvents } from "../events/log.ts";
import { taskStateChange } from "../events/shapes.ts";

/**
 * The deregistration delay (ECS's target group deregistration delay, docs/ingress.md): a RUNNING
 * task leaving a service with ingress is first taken out of discovery and ingress (DEACTIVATING:
 * `deactivatingAt` set, so the endpoints' test leaves it out) and its stop goes to its agent only
 * once the delay has passed (`deactivationEndsAt`): until then its desired status stays RUNNING,
 * so its agent keeps it running and the connections in flight finish. Both times are in the
 * database, so a restarted control or a new leader finishes what the last one started.
 */
export const serviceDeregistrationDelayMs = (svc: Pick<ServiceRow, "ingress">): number => deregistrationDelayMs(svc.ingress);

/** A task out of the answers, its stop not yet sent (shown as lastStatus DEACTIVATING). */
export const isDeactivating = (t: Pick<TaskRow, "deactivatingAt" | "desiredStatus">): boolean => t.desiredStatus === "RUNNING" && t.deactivatingAt != null;

/**
 * Starts the delay for those of `taskIds` that are RUNNING and not yet deactivating; returns the
 * ids it deactivated (the caller stops the rest at once: a task that never ran was never an
 * answer). The stop's reason and code are recorded now, as ECS gives them with the deregistration.
 */
export async function deactivateTasks(ctx: OpsContext, taskIds: string[], delayMs: number, reason: string, stopCode: string): Promise<string[]> {
  if (taskIds.length === 0 || delayMs <= 0) return [];
  const rows = await ctx.serialize(async () => {
    const now = ctx.clock.now();
    return ctx.db
      .update(tasks)
      .set({ deactivatingAt: now, deactivationEndsAt: now + delayMs, stoppedReason: reason, stopCode, updatedAt: now })
      .where(and(inArray(tasks.id, taskIds), eq(tasks.desiredStatus, "RUNNING"), eq(tasks.lastStatus, "RUNNING"), isNull(tasks.deactivatingAt)))
      .returning({ id: tasks.id, instanceId: tasks.instanceId });
  });
  // The change bus hears it through desiredChanged: the discovery publisher rebuilds the set
  // without these tasks (the desired set itself is unchanged, the task still RUNNING there).
  for (const instanceId of new Set(rows.map((r) => r.instanceId))) ctx.desiredChanged(instanceId);
  return rows.map((r) => r.id);
}

/**
 * Sends the stop of every deactivating task of the service whose delay has passed (level-triggered:
 * each scheduler round, whichever process leads). Returns the ids stopped.
 */
export async function finishDeactivations(ctx: OpsContext, clusterName: string, serviceName: string): Promise<string[]> {
  const stopped = await ctx.serialize(async () => {
    const now = ctx.clock.now();
    return ctx.db.transaction(async (tx) => {
      const rows = await tx
        .update(tasks)
        .set({ desiredStatus: "STOPPED", stoppingAt: now, updatedAt: now })
        .where(
          and(
            eq(tasks.clusterName, clusterName),
            eq(tasks.serviceName, serviceName),
            eq(tasks.desiredStatus, "RUNNING"),
            isNotNull(tasks.deactivatingAt),
            lte(tasks.deactivationEndsAt, now),
          ),
        )
        .returning();
      await appendEvents(tx, now, rows.map(taskStateChange));
      return rows;
    });
  });
  if (stopped.length > 0) ctx.eventSignal?.notify();
  for (const instanceId of new Set(stopped.map((s) => s.instanceId))) ctx.desiredChanged(instanceId);
  return stopped.map((s) => s.id);
}
