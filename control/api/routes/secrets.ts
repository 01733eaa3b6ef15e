import { Hono } from "hono";
import { secretView, type SecretStore } from "../../ops/secrets.ts";
import { jsonBody } from "../errors.ts";

/** Secret values go in and never come out of the API: responses carry names and ARNs only. */
export function secretRoutes(store: SecretStore) {
  const app = new Hono();
  app.post("/", async (c) => {
    const { row, created } = await store.put(await jsonBody(c));
    return c.json({ secret: secretView(row) }, created ? 201 : 200);
  });
  app.get("/", async (c) => c.json({ secrets: (await store.list()).map(secretView) }));
  app.delete("/:name{.+}", async (c) => c.json({ secret: secretView(await store.remove(c.req.param("name"))) }));
  return app;
}
