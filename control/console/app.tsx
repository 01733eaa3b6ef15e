import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roleAllows } from "../api/middleware/authorize/roles.ts";
import { actionName } from "../api/middleware/audit/actions.ts";
import { recordAudit } from "../ops/audit.ts";
import { listClusters } from "../ops/clusters.ts";
import type { OpsContext } from "../ops/context.ts";
import { OpError } from "../ops/errors.ts";
import { findToken, findTokenById } from "../ops/tokens.ts";
import { base, Page, type Viewer } from "./layout.tsx";
import { liveEvents } from "./live.ts";
import { LoginPage } from "./pages/login.tsx";
import { pageRoutes } from "./pages/routes.tsx";
import { consoleRequest, requests, type ConsoleOptions } from "./request.ts";
import { csrfMatches, SESSION_COOKIE, SessionStore } from "./sessions.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export type { ConsoleOptions } from "./request.ts";


const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Inline styles only for the bars' widths; no inline script at all. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const ASSETS_DIR = join(import.meta.dir, "assets");
const ASSETS: Record<string, { body: string; type: string }> = {
  "console.css": { body: readFileSync(join(ASSETS_DIR, "console.css"), "utf8"), type: "text/css; charset=utf-8" },
  "console.js": { body: readFileSync(join(ASSETS_DIR, "console.js"), "utf8"), type: "text/javascript; charset=utf-8" },
};

/** Same-origin check: a state-changing request from another site is refused before anything else. */
function crossSite(c: Context): boolean {
  if (c.req.header("sec-fetch-site") === "cross-site") return true;
  // "null" is an opaque origin (a sandboxed frame, a cross-site redirect): never our own pages.
  const origin = c.req.header("origin");
  return origin !== undefined && origin !== new URL(c.req.url).origin;
}

function cookieOptions(c: Context, maxAgeSeconds: number) {
  return {
    httpOnly: true,
    sameSite: "Strict" as const,
    // Secure only when the request came over TLS: the cookie must still work on plain-HTTP sites.
    secure: new URL(c.req.url).protocol === "https:",
    path: base,
    maxAge: maxAgeSeconds,
  };
}

/**
 * The operator web console, mounted at /console: server-rendered pages over the same operations
 * as the REST API, behind a session that an API token opens. Roles are the API's own
 * (roleAllows on the equivalent REST path), so the console can never let anyone do more.
 */
export function createConsole(ctx: OpsContext, opts: ConsoleOptions = {}) {
  const sessions = opts.sessions ?? new SessionStore(ctx.clock);
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof OpError) {
      const status = err.kind === "not-found" ? 404 : err.kind === "conflict" ? 409 : err.kind === "forbidden" ? 403 : 400;
      const r = requests.get(c);
      return c.html(
        <Page title="Error" viewer={r?.viewer}>
          <p class="errors" role="alert">
            {err.message}
          </p>
        </Page>,
        status,
      );
    }
    withComponent(c.get("log") ?? opts.log ?? silentLogger, "console").error({ err }, `internal error on ${c.req.method} ${c.req.path}: ${err.message}`);
    return c.html(<Page title="Error">internal error</Page>, 500);
  });

  // Pages hold secrets now and then (a new token, an activation code) and buttons that change
  // things: never cached, never framed by another site, scripts only from the control itself.
  app.use("*", async (c, next) => {
    await next();
    if (c.req.path.startsWith(`${base}/assets/`)) return;
    c.header("cache-control", "no-store");
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    c.header("x-frame-options", "DENY");
    c.header("content-security-policy", CSP);
  });

  // The largest thing posted is a pasted task definition: the API's own 1 MiB limit.
  app.use("*", bodyLimit({ maxSize: 1024 * 1024, onError: (c) => c.text("request body larger than 1 MiB", 413) }));

  app.get("/assets/:name", (c) => {
    const a = ASSETS[c.req.param("name")];
    if (!a) return c.notFound();
    return c.body(a.body, 200, { "content-type": a.type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
  });

  app.get("/login", (c) => c.html(<LoginPage />));
  app.post("/login", async (c) => {
    if (crossSite(c)) return c.text("cross-site request refused", 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const row = token ? await findToken(ctx, token) : undefined;
    if (!row) return c.html(<LoginPage error="That token is not valid (or was revoked)." />, 401);
    // A scraper's token reads /metrics and nothing else.
    if (row.role === "metrics") return c.html(<LoginPage error="A metrics token only reads /metrics; log in with another token." />, 403);
    const s = sessions.create(row.id);
    setCookie(c, SESSION_COOKIE, s.id, cookieOptions(c, Math.floor(sessions.ttlMs / 1000)));
    return c.redirect(base, 303);
  });

  // Everything below needs a session; a state-changing request also needs its CSRF token.
  const session: MiddlewareHandler = async (c, next) => {
    const s = sessions.get(getCookie(c, SESSION_COOKIE));
    // The token is looked up on every request: revoking it ends its console sessions at once.
    const token = s && (await findTokenById(ctx, s.tokenId));
    if (!s || !token) {
      if (READ_METHODS.has(c.req.method) && c.req.header("accept") !== "text/event-stream") return c.redirect(`${base}/login`, 303);
      return c.text("not logged in", 401);
    }
    if (!READ_METHODS.has(c.req.method)) {
      if (crossSite(c)) return c.text("cross-site request refused", 403);
      const presented = c.req.header("x-csrf-token") ?? (await formField(c, "_csrf"));
      if (!csrfMatches(s, presented)) return c.text("missing or wrong CSRF token", 403);
    }
    const clusters = (await listClusters(ctx)).map((r) => r.name);
    const inPath = /^\/console\/clusters\/([^/]+)/.exec(c.req.path)?.[1];
    const wanted = inPath !== undefined ? decodeURIComponent(inPath) : c.req.query("cluster");
    const viewer: Viewer = {
      name: token.name,
      role: token.role,
      csrf: s.csrf,
      canWrite: roleAllows(token.role, "POST", "/v1/clusters"),
      isAdmin: roleAllows(token.role, "GET", "/v1/tokens"),
      clusters,
      cluster: wanted && clusters.includes(wanted) ? wanted : clusters[0],
    };
    requests.set(c, { session: s, token, viewer });
    await next();
  };

  app.post("/logout", session, (c) => {
    sessions.destroy(consoleRequest(c).session.id);
    deleteCookie(c, SESSION_COOKIE, { path: base });
    return c.redirect(`${base}/login`, 303);
  });
  app.get("/events", session, (c) => liveEvents(c, opts.changes));
  app.use("/*", session);
  app.route("/", pageRoutes(ctx, { ...opts, audit: (c, method, apiPath, status) => auditConsole(ctx, c, method, apiPath, status, opts.log) }));
  return app;
}

/** A form field of a urlencoded or multipart body (parsed once; Hono caches the body). */
async function formField(c: Context, name: string): Promise<string | undefined> {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data")) return undefined;
  const v = (await c.req.parseBody())[name];
  return typeof v === "string" ? v : undefined;
}

/** Console changes are audited as the REST call they stand for, under the session's token. */
async function auditConsole(ctx: OpsContext, c: Context, method: string, apiPath: string, status: number, log: Logger = silentLogger) {
  const r = requests.get(c);
  try {
    await recordAudit(ctx, {
      tokenId: r?.token.id ?? null,
      tokenName: r?.token.name ?? null,
      method,
      path: `${apiPath} (console)`.slice(0, 512),
      action: actionName(method, apiPath),
      status,
    });
  } catch (e) {
    withComponent(log, "audit").error({ requestId: c.get("requestId") }, `could not record console ${method} ${apiPath}: ${(e as Error).message}`);
  }
}
