import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { ControlMetrics } from "../../../metrics/control-metrics.ts";

/**
 * The route pattern that answered (`/v1/clusters/:cluster/tasks/:task`), never the raw path, so
 * the label's values are bounded by the routes the API has. The handler's route is the last matched
 * one registered for a method (middleware is registered for ALL); a request refused by middleware
 * (401, 403, 413) is still counted under the route it was for.
 */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== "ALL") return routes[i]!.path;
  return "(unmatched)";
}

/** Counts and times every HTTP request by method, matched route pattern and status. */
export function requestMetrics(metrics: ControlMetrics): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
      metrics.apiRequests.inc(labels);
      metrics.apiRequestDuration.observe(labels, (performance.now() - t0) / 1000);
    }
  };
}
