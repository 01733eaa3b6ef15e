import { Hono } from "hono";
import { createActivation } from "../../ops/activations.ts";
import { clusterCounts, createCluster, deleteCluster, listClusters, requireCluster } from "../../ops/clusters.ts";
import type { OpsContext } from "../../ops/context.ts";
import { clusterView } from "../../views/ecs.ts";
import { jsonBody } from "../errors.ts";

export function clusterRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.post("/", async (c) => {
    const { row, created } = await createCluster(ctx, await jsonBody(c));
    return c.json({ cluster: clusterView(row, await clusterCounts(ctx, row.name)) }, created ? 201 : 200);
  });
  app.get("/", async (c) => {
    const rows = await listClusters(ctx);
    return c.json({ clusters: await Promise.all(rows.map(async (r) => clusterView(r, await clusterCounts(ctx, r.name)))) });
  });
  app.get("/:cluster", async (c) => {
    const row = await requireCluster(ctx, c.req.param("cluster"));
    return c.json({ cluster: clusterView(row, await clusterCounts(ctx, row.name)) });
  });
  app.delete("/:cluster", async (c) => {
    const row = await deleteCluster(ctx, c.req.param("cluster"));
    return c.json({ cluster: clusterView(row) });
  });
  app.post("/:cluster/activations", async (c) => {
    const a = await createActivation(ctx, c.req.param("cluster"), await jsonBody(c));
    return c.json({ ...a, expiresAt: new Date(a.expiresAt).toISOString() }, 201);
  });
  return app;
}
