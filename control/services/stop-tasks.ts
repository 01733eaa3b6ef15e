import { and, eq, inArray } from "drizzle-orm";
import { tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { SCHEDULER_STOP_CODE } from "./store.ts";
import { appendEvents } from "../events/log.ts";
import { taskStateChange } from "../events/shapes.ts";

/**
 * Marks service tasks desired STOPPED (only those still desired RUNNING) and republishes their
 * instances' desired sets; the agents stop the containers. Returns the ids actually stopped.
 */
export async function stopServiceTasks(ctx: OpsContext, taskIds: string[], reason: string): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const stopped = await ctx.serialize(async () => {
    const now = ctx.clock.now();
    return ctx.db.transaction(async (tx) => {
      const rows = await tx
        .update(tasks)
        .set({ desiredStatus: "STOPPED", stoppingAt: now, stoppedReason: reason, stopCode: SCHEDULER_STOP_CODE, updatedAt: now })
        .where(and(inArray(tasks.id, taskIds), eq(tasks.desiredStatus, "RUNNING")))
        .returning();
      await appendEvents(tx, now, rows.map(taskStateChange));
      return rows;
    });
  });
  if (stopped.length > 0) ctx.eventSignal?.notify();
  for (const instanceId of new Set(stopped.map((s) => s.instanceId))) ctx.desiredChanged(instanceId);
  return stopped.map((s) => s.id);
}
