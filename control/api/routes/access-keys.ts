import { Hono } from "hono";
import { accessKeyView, type AccessKeyStore } from "../../ops/access-keys.ts";
import { jsonBody } from "../errors.ts";

/** Access keys for SigV4 callers (admin-only, like /v1/tokens: see middleware/authorize/roles.ts). */
export function accessKeyRoutes(keys: AccessKeyStore) {
  const app = new Hono();
  app.post("/", async (c) => c.json(await keys.create(await jsonBody(c)), 201));
  app.get("/", async (c) => c.json({ accessKeys: (await keys.list()).map(accessKeyView) }));
  app.delete("/:id", async (c) => c.json({ accessKey: accessKeyView(await keys.revoke(c.req.param("id"))) }));
  return app;
}
