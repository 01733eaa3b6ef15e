import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import {
  createDeploymentWindow,
  deleteDeploymentWindow,
  deleteWindowOverride,
  listDeploymentWindows,
  listWindowOverrides,
  overrideDeploymentWindows,
  overrideView,
  windowView,
} from "../../ops/deployment-windows.ts";
import { callerOf } from "../middleware/authorize/index.ts";
import { jsonBody } from "../errors.ts";

/** /v1/clusters/{cluster}/deployment-windows: when deployments may change tasks on which hosts, and overrides. */
export function deploymentWindowRoutes(ctx: OpsContext) {
  const app = new Hono();
  const base = "/:cluster/deployment-windows";
  app.post(base, async (c) => {
    const row = await createDeploymentWindow(ctx, c.req.param("cluster"), await jsonBody(c));
    return c.json({ deploymentWindow: windowView(row, ctx.clock.now()) }, 201);
  });
  app.get(base, async (c) => {
    const now = ctx.clock.now();
    return c.json({ deploymentWindows: (await listDeploymentWindows(ctx, c.req.param("cluster"))).map((r) => windowView(r, now)) });
  });
  app.post(`${base}/override`, async (c) => {
    const row = await overrideDeploymentWindows(ctx, c.req.param("cluster"), await jsonBody(c), callerOf(c)?.name ?? null);
    return c.json({ override: overrideView(row) }, 201);
  });
  app.get(`${base}/overrides`, async (c) => c.json({ overrides: (await listWindowOverrides(ctx, c.req.param("cluster"))).map(overrideView) }));
  app.delete(`${base}/overrides/:id`, async (c) => c.json({ override: overrideView(await deleteWindowOverride(ctx, c.req.param("cluster"), c.req.param("id"))) }));
  app.delete(`${base}/:id`, async (c) => {
    const row = await deleteDeploymentWindow(ctx, c.req.param("cluster"), c.req.param("id"));
    return c.json({ deploymentWindow: windowView(row, ctx.clock.now()) });
  });
  return app;
}
