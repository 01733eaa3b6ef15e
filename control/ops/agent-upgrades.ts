import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { InstanceRow } from "../db/rows.ts";
import { agentUpgrades, containerInstances, type AgentUpgradeTarget } from "../db/schema.ts";
import { newId } from "../ids.ts";
import type { AgentReleaseStore } from "./agent-release-store.ts";
import { findAgentRelease } from "./agent-releases.ts";
import { AGENT_UPDATE_DEADLINE_MS, instanceArchitecture, sendUpgrade, type SendAgentRequest } from "./agent-updates.ts";
import { requireCluster } from "./clusters.ts";
import { loadWindowGate } from "../services/window-gate.ts";
import type { OpsContext } from "./context.ts";
import { clientError, notFound } from "./errors.ts";
import { targetInstances } from "./instance-targets.ts";
import { parseInput } from "./validate.ts";

export type AgentUpgradeRow = typeof agentUpgrades.$inferSelect;

/** An agent that has not reported UPDATED this long after its command counts as FAILED. */
export const TARGET_DEADLINE_MS = AGENT_UPDATE_DEADLINE_MS;

const startInput = z
  .object({
    version: z.string().min(1).max(64),
    /** Container instance ids or ARNs. */
    instances: z.array(z.string().min(1)).min(1).max(10_000).optional(),
    /** A cluster query language expression (as ListContainerInstances' filter). */
    filter: z.string().min(1).max(2048).optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    /** Batch size as a share of the picked instances (rounded up); instead of batchSize. */
    batchPercent: z.number().min(1).max(100).optional(),
    /** Seconds to wait after a batch finished before the next starts. */
    pauseSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(0),
    /** Failed instances tolerated; one more stops the upgrade. */
    maxFailures: z.number().int().min(0).max(10_000).default(0),
  })
  .strict()
  .refine((q) => q.batchSize === undefined || q.batchPercent === undefined, { path: ["batchPercent"], message: "give batchSize or batchPercent, not both" });

/**
 * Starts a rolling agent upgrade of the named (or matching) instances to an uploaded release, in
 * batches: a batch's commands go out only once every instance of the batch before is UPDATED on
 * the new version (or FAILED); more than maxFailures failures stop it. The leader's loop moves it
 * (advanceAgentUpgrades).
 */
export async function startAgentUpgrade(ctx: OpsContext, cluster: string, input: unknown, downloadBase: string): Promise<AgentUpgradeRow> {
  const q = parseInput(startInput, input);
  const c = await requireCluster(ctx, cluster);
  const rows = await targetInstances(ctx, c.name, q);
  for (const arch of new Set(rows.map(instanceArchitecture))) {
    if (!(await findAgentRelease(ctx, q.version, arch))) {
      throw clientError(`no agent release ${q.version} for ${arch} (upload it with POST /v1/agent-releases)`, [{ path: "version", message: `no release for ${arch}` }]);
    }
  }
  const now = ctx.clock.now();
  const ids = [...new Map(rows.map((r) => [r.id, r])).keys()];
  const batchSize = q.batchPercent !== undefined ? Math.max(1, Math.ceil((ids.length * q.batchPercent) / 100)) : (q.batchSize ?? 1);
  const row: AgentUpgradeRow = {
    id: newId(),
    clusterName: c.name,
    version: q.version,
    batchSize,
    maxFailures: q.maxFailures,
    pauseMs: q.pauseSeconds * 1000,
    status: "IN_PROGRESS",
    reason: null,
    targets: ids.map((id) => ({ containerInstanceId: id, status: "WAITING" as const })),
    downloadBase,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.serialize(() => ctx.db.insert(agentUpgrades).values(row));
  return row;
}

export async function describeAgentUpgrade(ctx: OpsContext, cluster: string, id: string): Promise<AgentUpgradeRow> {
  const row = await ctx.db.select().from(agentUpgrades).where(and(eq(agentUpgrades.clusterName, cluster), eq(agentUpgrades.id, id))).get();
  if (!row) throw notFound("NotFound", `agent upgrade ${id} not found in cluster ${cluster}`);
  return row;
}

export async function listAgentUpgrades(ctx: OpsContext, cluster: string): Promise<AgentUpgradeRow[]> {
  return ctx.db.select().from(agentUpgrades).where(eq(agentUpgrades.clusterName, cluster)).orderBy(desc(agentUpgrades.createdAt)).all();
}

const TERMINAL = new Set(["UPDATED", "FAILED"]);

/** Where one target stands, from its instance row. */
function observe(t: AgentUpgradeTarget, inst: InstanceRow | undefined, version: string, now: number): AgentUpgradeTarget {
  if (t.status === "WAITING" || TERMINAL.has(t.status)) return t;
  const next = observeStarted(t, inst, version, now);
  return TERMINAL.has(next.status) ? { ...next, finishedAt: now } : next;
}

function observeStarted(t: AgentUpgradeTarget, inst: InstanceRow | undefined, version: string, now: number): AgentUpgradeTarget {
  if (!inst || inst.status === "INACTIVE") return { ...t, status: "FAILED", reason: "the instance was deregistered" };
  if (inst.agentUpdateVersion === version && inst.agentUpdateStatus) {
    // UPDATED counts once the agent runs the new version and is connected with it.
    if (inst.agentUpdateStatus === "UPDATED") {
      if (inst.versionInfo.agentVersion === version && inst.agentConnected) return { containerInstanceId: t.containerInstanceId, status: "UPDATED", startedAt: t.startedAt };
    } else if (inst.agentUpdateStatus === "FAILED") return { ...t, status: "FAILED", reason: inst.agentUpdateReason ?? "the agent reported FAILED" };
    else if (inst.agentUpdateStatus !== t.status) t = { ...t, status: inst.agentUpdateStatus };
  }
  if (t.startedAt !== undefined && now - t.startedAt > TARGET_DEADLINE_MS) return { ...t, status: "FAILED", reason: `not UPDATED within ${TARGET_DEADLINE_MS / 60_000} minutes` };
  return t;
}

/**
 * One step of every upgrade in progress (the leader's loop calls this every second): refresh each
 * started target from its instance, stop on too many failures, and once the current batch is all
 * UPDATED or FAILED send the next batch's commands.
 */
export async function advanceAgentUpgrades(ctx: OpsContext, store: AgentReleaseStore, send: SendAgentRequest): Promise<void> {
  const running = await ctx.db.select().from(agentUpgrades).where(eq(agentUpgrades.status, "IN_PROGRESS")).all();
  for (const up of running) await advance(ctx, store, send, up);
}

async function advance(ctx: OpsContext, store: AgentReleaseStore, send: SendAgentRequest, up: AgentUpgradeRow): Promise<void> {
  const now = ctx.clock.now();
  const ids = up.targets.map((t) => t.containerInstanceId);
  const instances = new Map((await ctx.db.select().from(containerInstances).where(inArray(containerInstances.id, ids)).all()).map((r) => [r.id, r]));
  let targets = up.targets.map((t) => observe(t, instances.get(t.containerInstanceId), up.version, now));
  let status: AgentUpgradeRow["status"] = "IN_PROGRESS";
  let reason: string | null = null;
  const failures = () => targets.filter((t) => t.status === "FAILED").length;
  if (failures() > up.maxFailures) {
    status = "FAILED";
    reason = `${failures()} instance(s) failed, more than maxFailures ${up.maxFailures}`;
  } else if (!targets.some((t) => t.status !== "WAITING" && !TERMINAL.has(t.status))) {
    const waiting = targets.filter((t) => t.status === "WAITING");
    const lastFinished = Math.max(0, ...targets.map((t) => t.finishedAt ?? 0));
    // Deployment windows hold agent upgrades as they hold deployments: only hosts inside theirs now.
    const gate = await loadWindowGate(ctx, up.clusterName, now);
    const open = (t: AgentUpgradeTarget) => {
      const inst = instances.get(t.containerInstanceId);
      return !inst || gate.stateOf(inst).open;
    };
    targets = targets.map((t) => {
      if (t.status !== "WAITING") return t;
      const inst = instances.get(t.containerInstanceId);
      const state: { open: boolean; opensAt?: number } = inst ? gate.stateOf(inst) : { open: true };
      const { windowOpensAt: _, ...rest } = t;
      return state.open ? rest : { ...rest, windowOpensAt: state.opensAt ?? null };
    });
    const paused = lastFinished > 0 && now < lastFinished + up.pauseMs;
    const next = paused ? [] : waiting.filter(open).slice(0, up.batchSize);
    if (waiting.length === 0) status = "SUCCESSFUL";
    for (const t of next) {
      const inst = instances.get(t.containerInstanceId);
      let result: AgentUpgradeTarget;
      if (inst && inst.versionInfo.agentVersion === up.version && inst.agentConnected) result = { containerInstanceId: t.containerInstanceId, status: "UPDATED", startedAt: now, finishedAt: now };
      else if (!inst) result = { containerInstanceId: t.containerInstanceId, status: "FAILED", reason: "the instance was deregistered", finishedAt: now };
      else {
        try {
          await sendUpgrade(ctx, store, send, inst, up.version, up.downloadBase);
          result = { containerInstanceId: t.containerInstanceId, status: "PENDING", startedAt: now };
        } catch (e) {
          result = { containerInstanceId: t.containerInstanceId, status: "FAILED", reason: (e as Error).message, startedAt: now, finishedAt: now };
        }
      }
      targets = targets.map((x) => (x.containerInstanceId === t.containerInstanceId ? result : x));
    }
    if (failures() > up.maxFailures) {
      status = "FAILED";
      reason = `${failures()} instance(s) failed, more than maxFailures ${up.maxFailures}`;
    }
  }
  if (status === up.status && JSON.stringify(targets) === JSON.stringify(up.targets)) return;
  await ctx.serialize(() => ctx.db.update(agentUpgrades).set({ targets, status, reason, updatedAt: now }).where(eq(agentUpgrades.id, up.id)));
}

export function agentUpgradeView(row: AgentUpgradeRow) {
  const count = (s: string) => row.targets.filter((t) => t.status === s).length;
  return {
    id: row.id,
    clusterName: row.clusterName,
    version: row.version,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    batchSize: row.batchSize,
    maxFailures: row.maxFailures,
    pauseSeconds: row.pauseMs / 1000,
    updatedCount: count("UPDATED"),
    failedCount: count("FAILED"),
    waitingCount: count("WAITING"),
    instances: row.targets.map((t) => ({
      containerInstanceId: t.containerInstanceId,
      agentUpdateStatus: t.status === "WAITING" ? undefined : t.status,
      ...(t.reason ? { reason: t.reason } : {}),
      // Outside its deployment window: waits until it opens (null: no opening ahead), as deployments' waitingHosts.
      ...(t.windowOpensAt !== undefined ? { waitingForWindowUntil: t.windowOpensAt === null ? null : new Date(t.windowOpensAt).toISOString() } : {}),
    })),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
