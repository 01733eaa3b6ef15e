import { eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { containerInstances, pullLimits } from "../db/schema.ts";
import { compileExpression } from "../placement/index.ts";
import { MAX_PULL_LIMIT, MIN_PULL_BANDWIDTH } from "../../shared/pull-limit.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid } from "./errors.ts";
import { parseInput } from "./validate.ts";

const limitFields = {
  /** Image pulls at a time on a host (the agent's --max-concurrent-pulls). */
  maxConcurrentPulls: z.number().int().min(1).max(MAX_PULL_LIMIT).optional(),
  /** Download bandwidth cap of a host in bytes per second (the agent's --max-pull-bytes-per-second). */
  maxPullBytesPerSecond: z.number().int().min(MIN_PULL_BANDWIDTH).max(1e12).optional(),
};

/**
 * A cluster's pull limits in one setting (`PUT /v1/clusters/{c}/pull-limits`): a default for every
 * host, and rules for the hosts a cluster query language expression matches (a site:
 * `attribute:site == shop-12`), the first matching rule winning field by field over the default.
 * An instance's own attributes (`flotilla.max-concurrent-pulls`, `flotilla.max-pull-bytes-per-second`)
 * win over both; the agent's flags apply where none says anything.
 */
export const pullLimitsSchema = z.strictObject({
  default: z.strictObject(limitFields).default({}),
  rules: z.array(z.strictObject({ filter: z.string().min(1).max(2048), ...limitFields })).max(50).default([]),
});
export type PullLimits = z.output<typeof pullLimitsSchema>;
export type HostPullLimits = z.output<typeof pullLimitsSchema>["default"];

const NONE: PullLimits = { default: {}, rules: [] };

export async function getPullLimits(ctx: OpsContext, cluster: string): Promise<PullLimits> {
  const c = await requireCluster(ctx, cluster);
  return storedPullLimits(ctx, c.name);
}

/** The cluster's stored limits (no cluster check: the desired set builder's read). */
export async function storedPullLimits(ctx: OpsContext, cluster: string): Promise<PullLimits> {
  const row = await ctx.db.select().from(pullLimits).where(eq(pullLimits.clusterName, cluster)).get();
  const parsed = row ? pullLimitsSchema.safeParse(row.limits) : undefined;
  return parsed?.success ? parsed.data : NONE;
}

/** Replaces the cluster's pull limits as a whole; every host of the cluster gets a new desired set carrying its limits. */
export async function putPullLimits(ctx: OpsContext, cluster: string, input: unknown): Promise<PullLimits> {
  const limits = parseInput(pullLimitsSchema, input);
  for (const [i, r] of limits.rules.entries()) {
    const compiled = compileExpression(r.filter);
    if (!compiled.ok) throw invalid(`rules[${i}].filter: ${compiled.error.message}`, [{ path: `rules[${i}].filter`, message: compiled.error.message }]);
  }
  const c = await requireCluster(ctx, cluster);
  const now = ctx.clock.now();
  const ids = await ctx.serialize(async () => {
    await ctx.db
      .insert(pullLimits)
      .values({ clusterName: c.name, limits, updatedAt: now })
      .onConflictDoUpdate({ target: pullLimits.clusterName, set: { limits, updatedAt: now } });
    return (await ctx.db.select({ id: containerInstances.id }).from(containerInstances).where(eq(containerInstances.clusterName, c.name)).all()).map((r) => r.id);
  });
  // Level-triggered like the tasks: the limits travel in each host's retained desired set.
  for (const id of ids) ctx.desiredChanged(id);
  return limits;
}

/**
 * Each instance's limits from its cluster's setting: the first rule whose filter matches it
 * (judged by the placement engine's evaluator over the cluster index, as ListContainerInstances'
 * filter), field by field over the default.
 */
export async function pullLimitsByInstance(ctx: OpsContext, insts: { id: string; clusterName: string }[]): Promise<Map<string, HostPullLimits>> {
  const out = new Map<string, HostPullLimits>();
  const clusters = [...new Set(insts.map((i) => i.clusterName))];
  if (clusters.length === 0) return out;
  const rows = await ctx.db.select().from(pullLimits).where(inArray(pullLimits.clusterName, clusters)).all();
  for (const row of rows) {
    const parsed = pullLimitsSchema.safeParse(row.limits);
    if (!parsed.success) continue;
    const limits = parsed.data;
    const rules = limits.rules.map((r) => ({ rule: r, compiled: compileExpression(r.filter) }));
    const views = rules.length ? new Map(ctx.placement.cluster(row.clusterName).map((v) => [v.id, v])) : new Map();
    for (const inst of insts) {
      if (inst.clusterName !== row.clusterName) continue;
      const view = views.get(inst.id);
      const hit = view ? rules.find((r) => r.compiled.ok && r.compiled.predicate(view))?.rule : undefined;
      out.set(inst.id, {
        ...limits.default,
        ...(hit?.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: hit.maxConcurrentPulls } : {}),
        ...(hit?.maxPullBytesPerSecond !== undefined ? { maxPullBytesPerSecond: hit.maxPullBytesPerSecond } : {}),
      });
    }
  }
  return out;
}
