import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { AgentRequest, AgentUpdate } from "../../shared/messages.ts";
import type { InstanceRow } from "../db/rows.ts";
import { containerInstances } from "../db/schema.ts";
import type { AgentReleaseStore } from "./agent-release-store.ts";
import { issueDownloadToken } from "./agent-release-store.ts";
import { findAgentRelease, isSemver, latestAgentRelease } from "./agent-releases.ts";
import type { OpsContext } from "./context.ts";
import { clientError, OpError } from "./errors.ts";
import { requireInstance } from "./instances.ts";
import { parseInput } from "./validate.ts";

/** Sends a request on an instance's own req topic (the control's agent link). */
export type SendAgentRequest = (instanceId: string, request: AgentRequest) => Promise<void>;

/** No version: the newest uploaded release for the instance's architecture, as ECS updates to its latest. */
const updateInput = z.object({ version: z.string().min(1).max(64).optional() });

/** Statuses of an update that has not finished yet: a second one is refused meanwhile. */
const IN_PROGRESS = ["PENDING", "STAGING", "STAGED", "UPDATING"] as const;
const IN_PROGRESS_SET = new Set<string>(IN_PROGRESS);

/**
 * How long an update may go without progress before it is FAILED. The command travels on a
 * non-retained topic, so an agent that drops off just then never hears of it; without a bound its
 * instance would say PENDING for ever and refuse every later update (UpdateInProgressException).
 * The same bound as a rolling upgrade's per-host deadline (agent-upgrades.ts) and longer than an
 * agent's own rollback guard, so an agent still working on it reports first.
 */
export const AGENT_UPDATE_DEADLINE_MS = 10 * 60_000;

/** An update not finished, with no progress for AGENT_UPDATE_DEADLINE_MS (null time: from before the column, never expires). */
export function agentUpdateExpired(row: Pick<InstanceRow, "agentUpdateStatus" | "agentUpdateAt">, now: number): boolean {
  return !!row.agentUpdateStatus && IN_PROGRESS_SET.has(row.agentUpdateStatus) && row.agentUpdateAt !== null && now - row.agentUpdateAt > AGENT_UPDATE_DEADLINE_MS;
}

const expiredReason = (status: string) => `no progress reported within ${AGENT_UPDATE_DEADLINE_MS / 60_000} minutes (last status ${status})`;

/** The architecture an instance's agent registered (ecs.cpu-architecture). */
export const instanceArchitecture = (row: InstanceRow) => row.attributes["ecs.cpu-architecture"] ?? "x86_64";

/**
 * ECS's UpdateContainerAgent (both front doors), to a named uploaded release or, without one, the
 * newest for the instance's architecture: the agent gets an upgrade command with the release's
 * digest, signature and a download URL carrying a token only it can use; the instance's
 * agentUpdateStatus is PENDING until the agent reports on. ECS's refusals: UpdateInProgressException
 * (an update not UPDATED/FAILED yet), NoUpdateAvailableException (already on that version, or no
 * newer release), MissingVersionException (no version given and the agent's is not comparable).
 */
export async function updateContainerAgent(
  ctx: OpsContext,
  store: AgentReleaseStore,
  send: SendAgentRequest,
  cluster: string,
  idOrArn: string,
  input: unknown,
  origin: string,
): Promise<InstanceRow> {
  const { version: asked } = parseInput(updateInput, input);
  const row = await requireInstance(ctx, cluster, idOrArn);
  // An expired update no longer blocks, even before the leader's sweep has marked it FAILED.
  if (row.agentUpdateStatus && IN_PROGRESS_SET.has(row.agentUpdateStatus) && !agentUpdateExpired(row, ctx.clock.now())) {
    throw new OpError("conflict", "UpdateInProgressException", `an agent update of container instance ${row.id} to ${row.agentUpdateVersion} is in progress (${row.agentUpdateStatus})`);
  }
  const current = row.versionInfo.agentVersion;
  let version = asked;
  if (version === undefined) {
    // ECS's "latest": judged against the running version, which must then be a version at all.
    if (!current || !isSemver(current)) {
      throw new OpError("invalid", "MissingVersionException", `the agent of container instance ${row.id} reports no comparable version (${current ?? "none"}); name the release to update to`);
    }
    const latest = await latestAgentRelease(ctx, instanceArchitecture(row));
    if (!latest || Bun.semver.order(latest.version, current) <= 0) {
      throw new OpError("invalid", "NoUpdateAvailableException", `no agent release newer than ${current} for ${instanceArchitecture(row)}`);
    }
    version = latest.version;
  }
  if (current === version) throw new OpError("invalid", "NoUpdateAvailableException", `the agent of container instance ${row.id} already runs ${version}`);
  return sendUpgrade(ctx, store, send, row, version, origin);
}

export async function sendUpgrade(ctx: OpsContext, store: AgentReleaseStore, send: SendAgentRequest, row: InstanceRow, version: string, origin: string): Promise<InstanceRow> {
  const architecture = instanceArchitecture(row);
  const release = await findAgentRelease(ctx, version, architecture);
  if (!release) throw clientError(`no agent release ${version} for ${architecture} (upload it with POST /v1/agent-releases)`, [{ path: "version", message: `no release for ${architecture}` }]);
  if (!row.agentConnected) throw clientError(`the agent of container instance ${row.id} is not connected`, [{ path: "containerInstance", message: "agent not connected" }]);
  const token = issueDownloadToken(store, release, row.id, ctx.clock.now());
  const base = (store.publicUrl ?? origin).replace(/\/+$/, "");
  const url = `${base}/v1/agent-releases/${encodeURIComponent(version)}/${architecture}/binary?token=${encodeURIComponent(token)}`;
  const pending = { agentUpdateStatus: "PENDING", agentUpdateVersion: version, agentUpdateReason: null, agentUpdateAt: ctx.clock.now() } as const;
  await ctx.serialize(() => ctx.db.update(containerInstances).set(pending).where(eq(containerInstances.id, row.id)));
  await send(row.id, { kind: "upgrade", requestId: randomBytes(8).toString("hex"), version, url, sha256: release.sha256, signature: release.signature });
  ctx.changes?.emit({ kind: "instance", instanceId: row.id });
  return { ...row, ...pending };
}

/**
 * Stores the agent's reported upgrade state. Only a report about the update the control last
 * asked for counts (the same version), so an agent still saying how its previous upgrade went
 * does not overwrite PENDING.
 */
export async function applyAgentUpdate(ctx: OpsContext, instanceId: string, update: AgentUpdate): Promise<void> {
  const changed = await ctx.serialize(async () => {
    const res = await ctx.db
      .update(containerInstances)
      .set({ agentUpdateStatus: update.status, agentUpdateVersion: update.version, agentUpdateReason: update.reason ?? null, agentUpdateAt: ctx.clock.now() })
      .where(
        sql`${containerInstances.id} = ${instanceId} and (${containerInstances.agentUpdateVersion} is null or ${containerInstances.agentUpdateVersion} = ${update.version})
            and not (${containerInstances.agentUpdateStatus} is ${update.status} and ${containerInstances.agentUpdateReason} is ${update.reason ?? null})`,
      );
    return res.rowsAffected > 0;
  });
  if (changed) ctx.changes?.emit({ kind: "instance", instanceId });
}

/**
 * Marks FAILED every update that made no progress for AGENT_UPDATE_DEADLINE_MS (a leader duty, run
 * with the rolling upgrades' step). Returns the instances it changed. An agent that reports on
 * later about that same version still overwrites it (applyAgentUpdate), so a slow agent's UPDATED wins.
 */
export async function expireAgentUpdates(ctx: OpsContext): Promise<string[]> {
  const cutoff = ctx.clock.now() - AGENT_UPDATE_DEADLINE_MS;
  const stale = await ctx.db
    .select({ id: containerInstances.id, status: containerInstances.agentUpdateStatus })
    .from(containerInstances)
    .where(and(inArray(containerInstances.agentUpdateStatus, [...IN_PROGRESS]), lt(containerInstances.agentUpdateAt, cutoff)))
    .all();
  const expired: string[] = [];
  for (const { id, status } of stale) {
    const changed = await ctx.serialize(async () => {
      // The status is checked again in the write: a report between the read and here wins.
      const res = await ctx.db
        .update(containerInstances)
        .set({ agentUpdateStatus: "FAILED", agentUpdateReason: expiredReason(status!), agentUpdateAt: ctx.clock.now() })
        .where(and(eq(containerInstances.id, id), eq(containerInstances.agentUpdateStatus, status!), lt(containerInstances.agentUpdateAt, cutoff)));
      return res.rowsAffected > 0;
    });
    if (changed) {
      expired.push(id);
      ctx.changes?.emit({ kind: "instance", instanceId: id });
    }
  }
  return expired;
}
