import { and, eq, inArray } from "drizzle-orm";
import { tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { SCHEDULER_STOP_CODE } from "./store.ts";
import { appendEvents } from "../events/log.ts";
import { taskStateChange } from "../events/shapes.ts";
import { deactivateTasks } from "./deactivation.ts";

/**
 * Marks service tasks desired STOPPED (only those still desired RUNNING) and republishes their
 * instances' desired sets; the agents stop the containers. With a deregistration delay
 * (`delayMs`, services with ingress) a RUNNING task is deactivated first instead and stopped by a
 * later round (deactivation.ts). Returns the ids stopped or deactivated.
 */
export async function stopServiceTasks(ctx: OpsContext, taskIds: string[], reason: string, delayMs = 0, stopCode = SCHEDULER_STOP_CODE): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const deactivated = await deactivateTasks(ctx, taskIds, delayMs, reason, stopCode);
  const skip = new Set(deactivated);
  const now_ = taskIds.filter((id) => !skip.has(id));
  if (now_.length === 0) return deactivated;
  const stopped = await ctx.serialize(async () => {
    const now = ctx.clock.now();
    return ctx.db.transaction(async (tx) => {
      const rows = await tx
        .update(tasks)
        .set({ desiredStatus: "STOPPED", stoppingAt: now, stoppedReason: reason, stopCode, updatedAt: now })
        .where(and(inArray(tasks.id, now_), eq(tasks.desiredStatus, "RUNNING")))
        .returning();
      await appendEvents(tx, now, rows.map(taskStateChange));
      return rows;
    });
  });
  if (stopped.length > 0) ctx.eventSignal?.notify();
  for (const instanceId of new Set(stopped.map((s) => s.instanceId))) ctx.desiredChanged(instanceId);
  return [...deactivated, ...stopped.map((s) => s.id)];
}
