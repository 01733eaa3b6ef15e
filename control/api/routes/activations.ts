import { Hono } from "hono";
import { activationView, listActivations, revokeActivation } from "../../ops/activations.ts";
import type { OpsContext } from "../../ops/context.ts";

/** Listing and revoking activations (creating one stays with the cluster routes). */
export function activationRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/:cluster/activations", async (c) => {
    const now = ctx.clock.now();
    return c.json({ activations: (await listActivations(ctx, c.req.param("cluster"))).map((r) => activationView(r, now)) });
  });
  app.delete("/:cluster/activations/:id", async (c) => {
    const row = await revokeActivation(ctx, c.req.param("cluster"), c.req.param("id"));
    return c.json({ activation: activationView(row, ctx.clock.now()) });
  });
  return app;
}
