import type { MiddlewareHandler } from "hono";
import { recordAudit } from "../../../ops/audit.ts";
import type { OpsContext } from "../../../ops/context.ts";
import { callerOf } from "../authorize/index.ts";
import { actionName } from "./actions.ts";
import { silentLogger, withComponent, type Logger } from "../../../../shared/log.ts";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Records every mutating call with its result, refused ones (401/403/4xx) included, after the
 * response is decided. Mount it outside the authorize middleware so refusals are seen too.
 */
export function audit(ctx: OpsContext, logger: Logger = silentLogger): MiddlewareHandler {
  const log = withComponent(logger, "audit");
  return async (c, next) => {
    await next();
    if (READ_METHODS.has(c.req.method)) return;
    const caller = callerOf(c);
    const path = c.req.path.slice(0, 512);
    try {
      await recordAudit(ctx, {
        tokenId: caller?.tokenId ?? null,
        tokenName: caller?.name ?? null,
        method: c.req.method,
        path,
        action: actionName(c.req.method, path),
        status: c.res.status,
      });
    } catch (e) {
      // Losing an audit line must not turn a done change into an error for the caller.
      log.error({ requestId: c.get("requestId") }, `could not record ${c.req.method} ${path}: ${(e as Error).message}`);
    }
  };
}
