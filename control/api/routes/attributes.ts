import { Hono } from "hono";
import { deleteAttributes, listAttributes, putAttributes } from "../../ops/attributes.ts";
import type { OpsContext } from "../../ops/context.ts";
import { jsonBody } from "../errors.ts";

export function attributeRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.put("/:cluster/attributes", async (c) => c.json({ attributes: await putAttributes(ctx, c.req.param("cluster"), await jsonBody(c)) }));
  app.delete("/:cluster/attributes", async (c) => c.json({ attributes: await deleteAttributes(ctx, c.req.param("cluster"), await jsonBody(c)) }));
  app.get("/:cluster/attributes", async (c) => c.json({ attributes: await listAttributes(ctx, c.req.param("cluster"), c.req.query()) }));
  return app;
}
