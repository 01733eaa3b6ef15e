import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { createToken, listTokens, revokeToken, tokenView } from "../../ops/tokens.ts";
import { jsonBody } from "../errors.ts";
import { callerOf } from "../middleware/authorize/index.ts";

export function tokenRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.post("/", async (c) => c.json(await createToken(ctx, await jsonBody(c)), 201));
  app.get("/", async (c) => c.json({ tokens: (await listTokens(ctx)).map(tokenView) }));
  app.delete("/:id", async (c) => c.json({ token: tokenView(await revokeToken(ctx, c.req.param("id"), callerOf(c)?.tokenId)) }));
  return app;
}
