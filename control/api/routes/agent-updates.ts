import { Hono } from "hono";
import type { AgentReleaseStore } from "../../ops/agent-release-store.ts";
import { updateContainerAgent, type SendAgentRequest } from "../../ops/agent-updates.ts";
import type { OpsContext } from "../../ops/context.ts";
import { instanceTaskCounts } from "../../ops/instances.ts";
import { containerInstanceView } from "../../views/ecs.ts";
import { jsonBody } from "../errors.ts";

/** POST /v1/clusters/{cluster}/container-instances/{id}/update-agent {version}: ECS's UpdateContainerAgent. */
export function agentUpdateRoutes(ctx: OpsContext, store: AgentReleaseStore, send: () => SendAgentRequest | undefined) {
  const app = new Hono();
  app.post("/:cluster/container-instances/:id/update-agent", async (c) => {
    const sender = send();
    if (!sender) return c.json({ error: { code: "ServerException", message: "no agent link" } }, 503);
    const row = await updateContainerAgent(ctx, store, sender, c.req.param("cluster"), c.req.param("id"), await jsonBody(c), new URL(c.req.url).origin);
    return c.json({ containerInstance: containerInstanceView(row, await instanceTaskCounts(ctx, row.id)) });
  });
  return app;
}
