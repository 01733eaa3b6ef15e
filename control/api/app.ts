import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import type { OpsContext } from "../ops/context.ts";
import { findToken } from "../ops/tokens.ts";
import { onApiError } from "./errors.ts";
import { attributeRoutes } from "./routes/attributes.ts";
import { clusterRoutes } from "./routes/clusters.ts";
import { containerInstanceRoutes } from "./routes/container-instances.ts";
import { taskDefinitionRoutes } from "./routes/task-definitions.ts";
import { taskRoutes } from "./routes/tasks.ts";

export interface ApiOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
}

/** The REST front door: thin routes over the operations in control/ops. */
export function createApi(ctx: OpsContext, { maxBodyBytes = 1024 * 1024 }: ApiOptions = {}) {
  const app = new Hono();
  app.onError(onApiError);
  app.notFound((c) => c.json({ error: { code: "NotFound", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  const v1 = new Hono();
  v1.use(
    "*",
    bearerAuth({
      verifyToken: async (token) => (await findToken(ctx, token)) !== undefined,
      invalidTokenMessage: { error: { code: "UnauthorizedException", message: "invalid or revoked bearer token" } },
      noAuthenticationHeaderMessage: { error: { code: "UnauthorizedException", message: "a bearer token is required" } },
      invalidAuthenticationHeaderMessage: { error: { code: "UnauthorizedException", message: "malformed Authorization header" } },
    }),
  );
  v1.use(
    "*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => c.json({ error: { code: "ClientException", message: `request body larger than ${maxBodyBytes} bytes` } }, 413),
    }),
  );
  v1.route("/clusters", clusterRoutes(ctx));
  v1.route("/clusters", containerInstanceRoutes(ctx));
  v1.route("/clusters", taskRoutes(ctx));
  v1.route("/clusters", attributeRoutes(ctx));
  v1.route("/task-definitions", taskDefinitionRoutes(ctx));
  app.route("/v1", v1);
  return app;
}
