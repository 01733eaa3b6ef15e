import type { Context, MiddlewareHandler } from "hono";
import type { OpsContext } from "../../../ops/context.ts";
import { findToken, type Caller, type TokenRole } from "../../../ops/tokens.ts";
import { roleAllows } from "./roles.ts";

export type { Caller } from "../../../ops/tokens.ts";

// Keyed by the request's context (not c.req.raw, which body-limit replaces) so sub-apps without
// typed variables can read it too.
const callers = new WeakMap<Context, Caller>();

/** The authenticated caller of this request (set by the authorize middleware). */
export function callerOf(c: Context): Caller | undefined {
  return callers.get(c);
}

function refuse(c: Context, status: 401 | 403, message: string) {
  const code = status === 401 ? "UnauthorizedException" : "AccessDeniedException";
  if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="flotilla"');
  return c.json({ error: { code, message } }, status);
}

/**
 * Bearer-token authentication plus role check. The token is looked up on every request, so a
 * revoked token stops working at once. 401: no, malformed or unknown token; 403: the role may not.
 */
export function authorize(ctx: OpsContext): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) return refuse(c, 401, "a bearer token is required");
    const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
    if (!m) return refuse(c, 401, "malformed Authorization header");
    const row = await findToken(ctx, m[1]!);
    if (!row) return refuse(c, 401, "invalid or revoked bearer token");
    const caller: Caller = { tokenId: row.id, name: row.name, role: row.role };
    callers.set(c, caller);
    if (!roleAllows(row.role, c.req.method, c.req.path)) {
      return refuse(c, 403, `role "${row.role}" may not ${c.req.method} ${c.req.path}`);
    }
    await next();
  };
}
