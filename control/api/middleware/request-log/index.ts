import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { silentLogger, withComponent, type Logger } from "../../../../shared/log.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** This request's id: the caller's `x-request-id` when it is a sane one, else a new UUID. */
    requestId: string;
    /** The API's logger with this request's id bound, for lines about the request. */
    log: Logger;
  }
}

/** A caller's id is kept only if it cannot forge log structure or carry much: letters, digits, `._:-`. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One line per request after its response: method, route pattern, path (never the query, which
 * may hold an exec session's token), status, duration and request id; never a header or a body.
 * The id is echoed in `x-request-id` so a caller can quote it.
 */
export function requestLog(logger: Logger): MiddlewareHandler {
  const log = withComponent(logger, "api");
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given && CALLER_REQUEST_ID.test(given) ? given : crypto.randomUUID();
    const reqLog = log.child({ requestId });
    c.set("requestId", requestId);
    c.set("log", reqLog);
    try {
      await next();
    } finally {
      try {
        c.header("x-request-id", requestId);
      } catch {
        // A response with immutable headers (a WebSocket upgrade): the line still has the id.
      }
      const status = c.res.status;
      const line = { ...idsOf(c), method: c.req.method, route: routeOf(c), path: c.req.path.slice(0, 512), status, durationMs: Math.round((performance.now() - started) * 100) / 100 };
      if (status >= 500) reqLog.error(line, "request");
      else reqLog.info(line, "request");
    }
  };
}

/** The ids the route names (`:cluster`, `:taskId`), so a request's line joins the other lines about them. */
function idsOf(c: Context): { cluster?: string; taskId?: string } {
  try {
    // After next(), the params are the last matched handler's.
    const { cluster, taskId } = c.req.param() as Record<string, string | undefined>;
    return { ...(cluster ? { cluster } : {}), ...(taskId ? { taskId } : {}) };
  } catch {
    return {};
  }
}

/** The matched route's pattern (`/v1/clusters/:cluster/tasks`), so lines group by endpoint. */
function routeOf(c: Context): string {
  try {
    return routePath(c, -1);
  } catch {
    return c.req.path;
  }
}

/** The request's logger (a request outside the middleware, e.g. a unit test's app: silent). */
export function requestLogger(c: Context): Logger {
  return c.get("log") ?? silentLogger;
}
