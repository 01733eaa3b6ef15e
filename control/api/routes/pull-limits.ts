import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { getPullLimits, putPullLimits } from "../../ops/pull-limits.ts";
import { jsonBody } from "../errors.ts";

export function pullLimitsRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/:cluster/pull-limits", async (c) => c.json({ pullLimits: await getPullLimits(ctx, c.req.param("cluster")) }));
  app.put("/:cluster/pull-limits", async (c) => c.json({ pullLimits: await putPullLimits(ctx, c.req.param("cluster"), await jsonBody(c)) }));
  return app;
}
