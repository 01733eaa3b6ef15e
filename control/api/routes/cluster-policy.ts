import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { getClusterPolicy, putClusterPolicy } from "../../ops/policy.ts";
import { jsonBody } from "../errors.ts";

export function clusterPolicyRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/:cluster/policy", async (c) => c.json({ policy: await getClusterPolicy(ctx, c.req.param("cluster")) }));
  app.put("/:cluster/policy", async (c) => c.json({ policy: await putClusterPolicy(ctx, c.req.param("cluster"), await jsonBody(c)) }));
  return app;
}
