import { appendEvents } from "../events/log.ts";
import { serviceAction } from "../events/shapes.ts";
import { and, eq } from "drizzle-orm";
import { deployments, services } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { addServiceEvent } from "./events.ts";
import { completeRollout, retireEmptyDeployments } from "./rollout-state.ts";
import { liveByDeployment, type ClassifiedTask, type ServiceSnapshot } from "./snapshot.ts";

export interface RoundOutcome {
  /** The service runs exactly what its primary deployment asks for, all healthy. */
  steady: boolean;
}

/**
 * Bookkeeping after a round's actions: retire emptied deployments, complete a converged rollout
 * (with the ECS steady-state event), and finish deleting a DRAINING service once it has no tasks.
 */
export async function finishRound(
  ctx: OpsContext,
  snap: ServiceSnapshot,
  r: { remaining: ClassifiedTask[]; stopping: ClassifiedTask[]; desired: number; converged: boolean },
): Promise<RoundOutcome> {
  const { svc, primary } = snap;
  // A replaced deployment, and a deleted service, are done only once their tasks have stopped.
  await retireEmptyDeployments(ctx, snap.deps, liveByDeployment([...r.remaining, ...r.stopping]));
  if (svc.status === "DRAINING") {
    if (r.remaining.length === 0 && r.stopping.length === 0) await finishDeletion(ctx, svc.clusterName, svc.serviceName);
    return { steady: false };
  }
  if (!r.converged) return { steady: false };
  if (snap.deps.some((d) => d.status === "ACTIVE")) return { steady: false };
  await completeRollout(ctx, primary);
  const said = await addServiceEvent(ctx, svc.clusterName, svc.serviceName, `(service ${svc.serviceName}) has reached a steady state.`);
  // ECS's SERVICE_STEADY_STATE, once per arrival (the service event above is said once, too).
  if (said) {
    const now = ctx.clock.now();
    await ctx.serialize(() => appendEvents(ctx.db, now, [serviceAction(svc.clusterName, svc.serviceName, "SERVICE_STEADY_STATE", "INFO", now)], ctx.eventSignal));
  }
  return { steady: true };
}

async function finishDeletion(ctx: OpsContext, clusterName: string, serviceName: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.serialize(async () => {
    await ctx.db
      .update(services)
      .set({ status: "INACTIVE", desiredCount: 0, updatedAt: now })
      .where(and(eq(services.clusterName, clusterName), eq(services.serviceName, serviceName), eq(services.status, "DRAINING")));
    await ctx.db
      .update(deployments)
      .set({ status: "INACTIVE", updatedAt: now })
      .where(and(eq(deployments.clusterName, clusterName), eq(deployments.serviceName, serviceName)));
  });
}
