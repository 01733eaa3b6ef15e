import { and, eq, inArray, ne, or, sql } from "drizzle-orm";
import type { DesiredState, DesiredTask } from "../../shared/messages.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import type { TaskContainer } from "../db/rows.ts";
import type { OpsContext } from "./context.ts";
import { openPrefetchesByInstance } from "./image-prefetch.ts";
import { pullLimitsByInstance } from "./pull-limits.ts";
import { parsePullBandwidth, parsePullLimit, PULL_BANDWIDTH_ATTRIBUTE, PULL_LIMIT_ATTRIBUTE } from "../../shared/pull-limit.ts";


/**
 * Builds the instance's full desired task set under a new generation (stored, so generations keep
 * rising across control restarts). Tasks desired STOPPED stay in the set until the agent confirms
 * them stopped, so the agent learns why they stop.
 */
export async function nextDesiredState(ctx: OpsContext, instanceId: string, bump = true): Promise<DesiredState | null> {
  return (await nextDesiredStates(ctx, [instanceId], bump)).get(instanceId) ?? null;
}

/** Instances per statement: well under SQLite's bound-parameter limit. */
const CHUNK = 500;

/**
 * nextDesiredState for many instances in one serialized section: one generation UPDATE and one
 * task SELECT per chunk instead of three statements (and a queue turn) per instance, so a burst
 * of changes — a service scale-up touching 500 instances — is published in a few milliseconds.
 * Instances that no longer exist are absent from the result.
 */
export async function nextDesiredStates(ctx: OpsContext, instanceIds: string[], bump = true): Promise<Map<string, DesiredState>> {
  const out = new Map<string, DesiredState>();
  const ids = [...new Set(instanceIds)];
  if (ids.length === 0) return out;
  const rows = await ctx.serialize(async () => {
    const insts: { id: string; clusterName: string; generation: number; attributes: Record<string, string> }[] = [];
    const taskRows: (typeof tasks.$inferSelect)[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const cols = { id: containerInstances.id, clusterName: containerInstances.clusterName, generation: containerInstances.desiredGeneration, attributes: containerInstances.attributes };
      // Take the generation the database assigned: with several control processes a read-then-add
      // could hand two different sets the same generation, and the agent would drop the second.
      insts.push(
        ...(bump
          ? await ctx.db
              .update(containerInstances)
              .set({ desiredGeneration: sql`${containerInstances.desiredGeneration} + 1` })
              .where(inArray(containerInstances.id, chunk))
              .returning(cols)
          : await ctx.db.select(cols).from(containerInstances).where(inArray(containerInstances.id, chunk)).all()),
      );
      taskRows.push(
        ...(await ctx.db
          .select()
          .from(tasks)
          .where(and(inArray(tasks.instanceId, chunk), or(eq(tasks.desiredStatus, "RUNNING"), ne(tasks.lastStatus, "STOPPED"))))
          .all()),
      );
    }
    // Read in the same section as the generation, so a set never lists a prefetch its host finished before it.
    const prefetch = await openPrefetchesByInstance(ctx, ids);
    return { insts, taskRows, prefetch };
  });
  const byInstance = new Map<string, DesiredTask[]>();
  for (const t of rows.taskRows) {
    const list = byInstance.get(t.instanceId) ?? [];
    list.push({
      taskId: t.id,
      taskArn: t.arn,
      family: t.family,
      revision: t.revision,
      taskDefinitionArn: t.taskDefinitionArn,
      desiredStatus: t.desiredStatus,
      stoppedReason: t.desiredStatus === "STOPPED" ? (t.stoppedReason ?? undefined) : undefined,
      stopCode: t.desiredStatus === "STOPPED" ? (t.stopCode ?? undefined) : undefined,
      // The revision's spec as parsed once for this database, shared by every task of it.
      definition: (await taskDefinitionRevision(ctx.db, t.taskDefinitionArn))?.spec,
      ...containerGpuIds(t.containers as TaskContainer[]),
      ...(t.overrides ? { overrides: t.overrides as DesiredTask["overrides"] } : {}),
    });
    byInstance.set(t.instanceId, list);
  }
  // The cluster's pull-limits setting; an instance's own attribute wins over it.
  const clusterLimits = await pullLimitsByInstance(ctx, rows.insts);
  for (const inst of rows.insts) {
    const prefetch = rows.prefetch.get(inst.id);
    const limits = clusterLimits.get(inst.id);
    const maxConcurrentPulls = parsePullLimit(inst.attributes[PULL_LIMIT_ATTRIBUTE]) ?? limits?.maxConcurrentPulls;
    const maxPullBytesPerSecond = parsePullBandwidth(inst.attributes[PULL_BANDWIDTH_ATTRIBUTE]) ?? limits?.maxPullBytesPerSecond;
    out.set(inst.id, {
      instanceId: inst.id,
      clusterName: inst.clusterName,
      generation: inst.generation,
      tasks: byInstance.get(inst.id) ?? [],
      ...(prefetch ? { prefetch } : {}),
      ...(maxConcurrentPulls ? { maxConcurrentPulls } : {}),
      ...(maxPullBytesPerSecond ? { maxPullBytesPerSecond } : {}),
    });
  }
  return out;
}

/** The GPU ids placement gave each container (ECS's container gpuIds), for tasks that have any. */
function containerGpuIds(containers: TaskContainer[]): Pick<DesiredTask, "gpuIds"> {
  const withGpus = containers.filter((c) => c.gpuIds?.length);
  return withGpus.length ? { gpuIds: Object.fromEntries(withGpus.map((c) => [c.name, c.gpuIds!])) } : {};
}
