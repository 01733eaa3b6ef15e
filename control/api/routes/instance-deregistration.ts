import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { deregisterContainerInstance, instanceTaskCounts, type InstanceRevoked } from "../../ops/instances.ts";
import { containerInstanceView } from "../../views/ecs.ts";

export type { InstanceRevoked } from "../../ops/instances.ts";

/** DeregisterContainerInstance; `revoked` drops the agent's live broker session at once. */
export function instanceDeregistrationRoutes(ctx: OpsContext, revoked: InstanceRevoked) {
  const app = new Hono();
  app.delete("/:cluster/container-instances/:id", async (c) => {
    const { row } = await deregisterContainerInstance(ctx, c.req.param("cluster"), c.req.param("id"));
    await revoked(row.id);
    return c.json({ containerInstance: containerInstanceView(row, await instanceTaskCounts(ctx, row.id)) });
  });
  return app;
}
