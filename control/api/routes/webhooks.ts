import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { createWebhook, deleteWebhook, deliveryView, listDeliveries, listWebhooks, requireWebhook, webhookView } from "../../ops/webhooks.ts";
import { jsonBody } from "../errors.ts";

/** /v1/webhooks (admin only, roles.ts): subscriptions to the event log, and each one's delivery log. */
export function webhookRoutes(ctx: OpsContext, allowHosts?: string[]) {
  const app = new Hono();
  app.post("/", async (c) => c.json(await createWebhook(ctx, await jsonBody(c), allowHosts), 201));
  app.get("/", async (c) => c.json({ webhooks: (await listWebhooks(ctx)).map(webhookView) }));
  app.get("/:id", async (c) => c.json({ webhook: webhookView(await requireWebhook(ctx, c.req.param("id"))) }));
  app.delete("/:id", async (c) => c.json({ webhook: webhookView(await deleteWebhook(ctx, c.req.param("id"))) }));
  app.get("/:id/deliveries", async (c) => c.json({ deliveries: (await listDeliveries(ctx, c.req.param("id"), c.req.query())).map(deliveryView) }));
  return app;
}
