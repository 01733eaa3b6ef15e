import { eq, sql } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { AgentRequest, AgentUpdate } from "../../shared/messages.ts";
import type { InstanceRow } from "../db/rows.ts";
import { containerInstances } from "../db/schema.ts";
import type { AgentReleaseStore } from "./agent-release-store.ts";
import { issueDownloadToken } from "./agent-release-store.ts";
import { findAgentRelease } from "./agent-releases.ts";
import type { OpsContext } from "./context.ts";
import { clientError } from "./errors.ts";
import { requireInstance } from "./instances.ts";
import { parseInput } from "./validate.ts";

/** Sends a request on an instance's own req topic (the control's agent link). */
export type SendAgentRequest = (instanceId: string, request: AgentRequest) => Promise<void>;

const updateInput = z.object({ version: z.string().min(1).max(64) });

/** The architecture an instance's agent registered (ecs.cpu-architecture). */
export const instanceArchitecture = (row: InstanceRow) => row.attributes["ecs.cpu-architecture"] ?? "x86_64";

/**
 * ECS's UpdateContainerAgent, to a named uploaded release: the agent gets an upgrade command with
 * the release's digest, signature and a download URL carrying a token only it can use; the
 * instance's agentUpdateStatus is PENDING until the agent reports on.
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
  const { version } = parseInput(updateInput, input);
  const row = await requireInstance(ctx, cluster, idOrArn);
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
  await ctx.serialize(() =>
    ctx.db.update(containerInstances).set({ agentUpdateStatus: "PENDING", agentUpdateVersion: version, agentUpdateReason: null }).where(eq(containerInstances.id, row.id)),
  );
  await send(row.id, { kind: "upgrade", requestId: randomBytes(8).toString("hex"), version, url, sha256: release.sha256, signature: release.signature });
  ctx.changes?.emit({ kind: "instance", instanceId: row.id });
  return { ...row, agentUpdateStatus: "PENDING", agentUpdateVersion: version, agentUpdateReason: null };
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
      .set({ agentUpdateStatus: update.status, agentUpdateVersion: update.version, agentUpdateReason: update.reason ?? null })
      .where(
        sql`${containerInstances.id} = ${instanceId} and (${containerInstances.agentUpdateVersion} is null or ${containerInstances.agentUpdateVersion} = ${update.version})
            and not (${containerInstances.agentUpdateStatus} is ${update.status} and ${containerInstances.agentUpdateReason} is ${update.reason ?? null})`,
      );
    return res.rowsAffected > 0;
  });
  if (changed) ctx.changes?.emit({ kind: "instance", instanceId });
}
