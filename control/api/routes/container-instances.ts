import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { instanceTaskCounts, listContainerInstances, requireInstance, updateInstanceStatus } from "../../ops/instances.ts";
import { jsonBody } from "../errors.ts";
import { containerInstanceView } from "../../views/ecs.ts";

export function containerInstanceRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/:cluster/container-instances", async (c) => {
    // ?filter= (cluster query language) and ?status=, as ListContainerInstances takes them.
    const rows = await listContainerInstances(ctx, c.req.param("cluster"), c.req.query());
    const containerInstances = await Promise.all(rows.map(async (r) => containerInstanceView(r, await instanceTaskCounts(ctx, r.id))));
    return c.json({ containerInstances });
  });
  app.get("/:cluster/container-instances/:id", async (c) => {
    const row = await requireInstance(ctx, c.req.param("cluster"), c.req.param("id"));
    return c.json({ containerInstance: containerInstanceView(row, await instanceTaskCounts(ctx, row.id)) });
  });
  app.patch("/:cluster/container-instances/:id", async (c) => {
    const row = await updateInstanceStatus(ctx, c.req.param("cluster"), c.req.param("id"), await jsonBody(c));
    return c.json({ containerInstance: containerInstanceView(row, await instanceTaskCounts(ctx, row.id)) });
  });
  return app;
}
