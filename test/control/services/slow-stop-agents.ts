import { and, eq, inArray, ne } from "drizzle-orm";
import { containerInstances, tasks } from "../../../control/db/schema.ts";
import type { OpsContext } from "../../../control/scheduling/context.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { TaskContainer } from "../../../control/db/rows.ts";
import type { ReportedTask } from "../../../shared/messages.ts";
import type { TaskStatus } from "../../../shared/status.ts";

/**
 * Agents whose tasks take a while to stop (a stopTimeout, a slow shutdown), played through the
 * report path the MQTT link uses (`applyReports`). Each `settle()` reports, per instance, every
 * task not yet STOPPED: desired RUNNING ones RUNNING; ones asked to stop STOPPING for
 * `stopSettles` calls, then STOPPED (a task asked to stop before it ran stops at once). Instances
 * in `silent` report nothing, as a disconnected host.
 */
export function slowStopAgents(ctx: OpsContext, cluster: string, stopSettles: number) {
  const stoppingFor = new Map<string, number>();
  const silent = new Set<string>();
  let seq = 0;

  function reported(row: typeof tasks.$inferSelect): ReportedTask {
    let knownStatus: TaskStatus = "RUNNING";
    if (row.desiredStatus === "STOPPED") {
      const n = (stoppingFor.get(row.id) ?? 0) + 1;
      stoppingFor.set(row.id, n);
      knownStatus = row.lastStatus !== "RUNNING" && row.lastStatus !== "STOPPING" ? "STOPPED" : n > stopSettles ? "STOPPED" : "STOPPING";
    }
    const status = knownStatus === "STOPPED" ? ("STOPPED" as const) : ("RUNNING" as const);
    return {
      taskId: row.id,
      knownStatus,
      containers: (row.containers as TaskContainer[]).map((c) => ({ name: c.name, image: c.image, status, runtimeId: `${row.id}-${c.name}` })),
    };
  }

  return {
    silent,
    async settle(): Promise<void> {
      const rows = await ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, cluster), ne(tasks.lastStatus, "STOPPED"))).all();
      const byInstance = new Map<string, ReportedTask[]>();
      for (const r of rows) {
        if (silent.has(r.instanceId)) continue;
        byInstance.set(r.instanceId, [...(byInstance.get(r.instanceId) ?? []), reported(r)]);
      }
      if (byInstance.size === 0) return;
      const generations = await ctx.db
        .select({ id: containerInstances.id, generation: containerInstances.desiredGeneration })
        .from(containerInstances)
        .where(inArray(containerInstances.id, [...byInstance.keys()]))
        .all();
      const generationOf = new Map(generations.map((g) => [g.id, g.generation]));
      await applyReports(
        ctx,
        [...byInstance].map(([instanceId, list]) => ({
          instanceId,
          report: { instanceId, bootId: "slow-stop-agents", seq: ++seq, generation: generationOf.get(instanceId) ?? 0, sentAt: ctx.clock.now(), tasks: list },
        })),
      );
    },
  };
}

/** A service's tasks not yet STOPPED, whatever their desired status: what maximumPercent bounds. */
export async function unstoppedTasks(ctx: OpsContext, cluster: string, service: string) {
  return ctx.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterName, cluster), eq(tasks.serviceName, service), ne(tasks.lastStatus, "STOPPED")))
    .all();
}
