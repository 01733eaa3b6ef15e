import { Hono } from "hono";
import type { TaskRow } from "../../db/rows.ts";
import type { OpsContext } from "../../ops/context.ts";
import { describeTask, listTasks, runTask, startTask, stopTask, taskDefinitionSpecs } from "../../ops/tasks.ts";
import { taskView } from "../../views/ecs.ts";
import { jsonBody } from "../errors.ts";

export function taskRoutes(ctx: OpsContext) {
  const app = new Hono();
  /** Task views with what their definitions say (awslogs stream names). */
  const views = async (rows: TaskRow[]) => {
    const specs = await taskDefinitionSpecs(ctx, rows);
    return rows.map((r) => taskView(r, specs.get(r.taskDefinitionArn), ctx.containerStats));
  };
  app.post("/:cluster/tasks", async (c) => {
    const result = await runTask(ctx, c.req.param("cluster"), await jsonBody(c));
    return c.json({ tasks: await views(result.tasks), failures: result.failures }, result.tasks.length ? 201 : 200);
  });
  // StartTask: one task on each of `containerInstances`, placed there or nowhere.
  app.post("/:cluster/tasks/start", async (c) => {
    const result = await startTask(ctx, c.req.param("cluster"), await jsonBody(c));
    return c.json({ tasks: await views(result.tasks), failures: result.failures }, result.tasks.length ? 201 : 200);
  });
  app.get("/:cluster/tasks", async (c) => {
    const rows = await listTasks(ctx, c.req.param("cluster"), c.req.query());
    return c.json({ tasks: await views(rows) });
  });
  app.get("/:cluster/tasks/:taskId", async (c) => {
    const row = await describeTask(ctx, c.req.param("cluster"), c.req.param("taskId"));
    return c.json({ task: (await views([row]))[0] });
  });
  app.post("/:cluster/tasks/:taskId/stop", async (c) => {
    const row = await stopTask(ctx, c.req.param("cluster"), c.req.param("taskId"), await jsonBody(c));
    return c.json({ task: (await views([row]))[0] });
  });
  return app;
}
