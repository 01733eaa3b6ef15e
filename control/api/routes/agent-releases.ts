import { Hono } from "hono";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../../shared/log.ts";
import { checkDownloadToken, type AgentReleaseStore } from "../../ops/agent-release-store.ts";
import { agentReleaseView, findAgentRelease, listAgentReleases, uploadAgentRelease } from "../../ops/agent-releases.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid } from "../../ops/errors.ts";
import { audit } from "../middleware/audit/index.ts";
import { authorize } from "../middleware/authorize/index.ts";

/**
 * /v1/agent-releases: upload (admin; multipart: version, architecture, sha256, signature, file) and
 * list agent binaries; `…/{version}/{architecture}/binary?token=` streams one to the agent whose
 * upgrade command carried the token (agents hold MQTT credentials, not API tokens).
 */
export function agentReleaseRoutes(ctx: OpsContext, store: AgentReleaseStore, log?: Logger) {
  const app = new Hono();
  app.get("/:version/:architecture/binary", async (c) => {
    const release = { version: c.req.param("version"), architecture: c.req.param("architecture") };
    const token = c.req.query("token") ?? "";
    if (!checkDownloadToken(store, token, release, ctx.clock.now())) {
      return c.json({ error: { code: "UnauthorizedException", message: "a valid download token for this release is required (it comes in the agent's upgrade command)" } }, 401);
    }
    const row = await findAgentRelease(ctx, release.version, release.architecture);
    const file = row && join(store.dir, row.file);
    if (!row || !file || !existsSync(file)) return c.json({ error: { code: "NotFound", message: `no agent release ${release.version} for ${release.architecture}` } }, 404);
    return new Response(Bun.file(file), { headers: { "content-type": "application/octet-stream", "x-flotilla-sha256": row.sha256 } });
  });
  // Everything else is the API proper: audited, behind a token (uploads: admin, roles.ts).
  app.use("*", audit(ctx, log));
  app.use("*", authorize(ctx));
  app.post("/", async (c) => {
    let form: Record<string, unknown>;
    try {
      form = await c.req.parseBody();
    } catch {
      throw invalid("the body must be multipart/form-data with version, architecture, sha256, signature and file", [{ path: "(body)", message: "must be multipart/form-data" }]);
    }
    const row = await uploadAgentRelease(ctx, store, { version: form.version, architecture: form.architecture, sha256: form.sha256, signature: form.signature, file: form.file });
    return c.json({ agentRelease: agentReleaseView(row) }, 201);
  });
  app.get("/", async (c) => c.json({ agentReleases: (await listAgentReleases(ctx)).map(agentReleaseView) }));
  return app;
}
