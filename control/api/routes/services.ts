import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import {
  createService,
  deleteService,
  listServices,
  requireService,
  serviceDetails,
  serviceEndpoints,
  serviceEventsOf,
  updateService,
} from "../../ops/services.ts";
import { clusterDiscovery } from "../../ops/discovery.ts";
import { serviceEventView, serviceView } from "../../views/services.ts";
import { jsonBody } from "../errors.ts";

export function serviceRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.post("/:cluster/services", async (c) => {
    const row = await createService(ctx, c.req.param("cluster"), await jsonBody(c));
    return c.json({ service: serviceView(await serviceDetails(ctx, row), ctx.containerStats) }, 201);
  });
  app.get("/:cluster/services", async (c) => {
    const rows = await listServices(ctx, c.req.param("cluster"));
    return c.json({ serviceArns: rows.map((r) => r.arn), services: await Promise.all(rows.map(async (r) => serviceView(await serviceDetails(ctx, r, 10), ctx.containerStats))) });
  });
  app.get("/:cluster/services/:name", async (c) => {
    const row = await requireService(ctx, c.req.param("cluster"), c.req.param("name"));
    return c.json({ service: serviceView(await serviceDetails(ctx, row), ctx.containerStats) });
  });
  app.patch("/:cluster/services/:name", async (c) => {
    const row = await updateService(ctx, c.req.param("cluster"), c.req.param("name"), await jsonBody(c));
    return c.json({ service: serviceView(await serviceDetails(ctx, row), ctx.containerStats) });
  });
  app.delete("/:cluster/services/:name", async (c) => {
    const force = c.req.query("force") === "true";
    const row = await deleteService(ctx, c.req.param("cluster"), c.req.param("name"), force);
    return c.json({ service: serviceView(await serviceDetails(ctx, row), ctx.containerStats) });
  });
  app.get("/:cluster/services/:name/events", async (c) => {
    const rows = await serviceEventsOf(ctx, c.req.param("cluster"), c.req.param("name"));
    return c.json({ events: rows.map(serviceEventView) });
  });
  app.get("/:cluster/services/:name/endpoints", async (c) => {
    return c.json({ endpoints: await serviceEndpoints(ctx, c.req.param("cluster"), c.req.param("name")) });
  });
  // What every host of the cluster answers for SERVICE.CLUSTER.flotilla (docs/discovery.md).
  app.get("/:cluster/discovery", async (c) => c.json(await clusterDiscovery(ctx, c.req.param("cluster"))));
  return app;
}
