import { and, eq, ne, or, sql } from "drizzle-orm";
import type { DesiredState, DesiredTask } from "../../shared/messages.ts";
import { containerInstances, taskDefinitions, tasks } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";

/** Task definition revisions are immutable, so their specs can be cached forever. */
const specCache = new Map<string, unknown>();

async function specFor(ctx: OpsContext, family: string, revision: number): Promise<unknown> {
  const key = `${family}:${revision}`;
  const cached = specCache.get(key);
  if (cached) return cached;
  const row = await ctx.db
    .select({ spec: taskDefinitions.spec })
    .from(taskDefinitions)
    .where(and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, revision)))
    .get();
  if (row) specCache.set(key, row.spec);
  return row?.spec;
}

/**
 * Builds the instance's full desired task set under a new generation (stored, so generations keep
 * rising across control restarts). Tasks desired STOPPED stay in the set until the agent confirms
 * them stopped, so the agent learns why they stop.
 */
export async function nextDesiredState(ctx: OpsContext, instanceId: string, bump = true): Promise<DesiredState | null> {
  return ctx.serialize(async () => {
    const inst = await ctx.db.select().from(containerInstances).where(eq(containerInstances.id, instanceId)).get();
    if (!inst) return null;
    let generation = inst.desiredGeneration;
    if (bump) {
      // Take the generation the database assigned: with several control processes a read-then-add
      // could hand two different sets the same generation, and the agent would drop the second.
      const [bumped] = await ctx.db
        .update(containerInstances)
        .set({ desiredGeneration: sql`${containerInstances.desiredGeneration} + 1` })
        .where(eq(containerInstances.id, instanceId))
        .returning({ generation: containerInstances.desiredGeneration });
      generation = bumped?.generation ?? generation + 1;
    }
    const rows = await ctx.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.instanceId, instanceId), or(eq(tasks.desiredStatus, "RUNNING"), ne(tasks.lastStatus, "STOPPED"))))
      .all();
    const desired: DesiredTask[] = [];
    for (const t of rows) {
      desired.push({
        taskId: t.id,
        taskArn: t.arn,
        family: t.family,
        revision: t.revision,
        taskDefinitionArn: t.taskDefinitionArn,
        desiredStatus: t.desiredStatus,
        stoppedReason: t.desiredStatus === "STOPPED" ? (t.stoppedReason ?? undefined) : undefined,
        stopCode: t.desiredStatus === "STOPPED" ? (t.stopCode ?? undefined) : undefined,
        definition: await specFor(ctx, t.family, t.revision),
      });
    }
    return { instanceId, clusterName: inst.clusterName, generation, tasks: desired };
  });
}
