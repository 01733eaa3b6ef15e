import { Hono } from "hono";
import type { AgentReleaseStore } from "../../ops/agent-release-store.ts";
import { updateContainerAgent, type SendAgentRequest } from "../../ops/agent-updates.ts";
import type { OpsContext } from "../../ops/context.ts";
import { instanceTaskCounts } from "../../ops/instances.ts";
import { agentUpgradeView, describeAgentUpgrade, listAgentUpgrades, startAgentUpgrade } from "../../ops/agent-upgrades.ts";
import { containerInstanceView } from "../../views/ecs.ts";
import { jsonBody } from "../errors.ts";

/**
 * POST /v1/clusters/{cluster}/container-instances/{id}/update-agent {version}: ECS's UpdateContainerAgent;
 * /v1/clusters/{cluster}/agent-upgrades: rolling upgrades of many instances in batches.
 */
export function agentUpdateRoutes(ctx: OpsContext, store: AgentReleaseStore, send: () => SendAgentRequest | undefined) {
  const app = new Hono();
  app.post("/:cluster/container-instances/:id/update-agent", async (c) => {
    const sender = send();
    if (!sender) return c.json({ error: { code: "ServerException", message: "no agent link" } }, 503);
    const row = await updateContainerAgent(ctx, store, sender, c.req.param("cluster"), c.req.param("id"), await jsonBody(c), new URL(c.req.url).origin);
    return c.json({ containerInstance: containerInstanceView(row, await instanceTaskCounts(ctx, row.id)) });
  });
  app.post("/:cluster/agent-upgrades", async (c) => {
    const row = await startAgentUpgrade(ctx, c.req.param("cluster"), await jsonBody(c), store.publicUrl ?? new URL(c.req.url).origin);
    return c.json({ agentUpgrade: agentUpgradeView(row) }, 201);
  });
  app.get("/:cluster/agent-upgrades", async (c) => c.json({ agentUpgrades: (await listAgentUpgrades(ctx, c.req.param("cluster"))).map(agentUpgradeView) }));
  app.get("/:cluster/agent-upgrades/:id", async (c) => c.json({ agentUpgrade: agentUpgradeView(await describeAgentUpgrade(ctx, c.req.param("cluster"), c.req.param("id"))) }));
  return app;
}
