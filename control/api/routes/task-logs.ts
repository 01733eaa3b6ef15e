import { Hono } from "hono";
import type { LogRequests } from "../../link/log-requests.ts";
import { LogRequestError } from "../../link/log-requests.ts";
import type { OpsContext } from "../../ops/context.ts";
import { resolveLogTarget } from "../../ops/task-logs.ts";

/**
 * GET /v1/clusters/{cluster}/tasks/{taskId}/logs?container=&tail=&since=&follow= streams a task
 * container's logs from its agent as text/plain; with follow it lasts until the container stops
 * or the client goes away.
 */
export function taskLogRoutes(ctx: OpsContext, logs: () => LogRequests | undefined) {
  const app = new Hono();
  app.get("/:cluster/tasks/:taskId/logs", async (c) => {
    const { instanceId, params } = await resolveLogTarget(ctx, c.req.param("cluster"), c.req.param("taskId"), c.req.query());
    const requests = logs();
    if (!requests) return c.json({ error: { code: "ServerException", message: "the agent link is not running" } }, 503);
    // A quiet follow may send nothing for minutes: lift Bun's idle timeout for this request only.
    if (params.follow) (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
    try {
      const body = await requests.open(instanceId, params);
      return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" } });
    } catch (e) {
      if (e instanceof LogRequestError) return c.json({ error: { code: e.code, message: e.message } }, e.status);
      throw e;
    }
  });
  return app;
}
