import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import {
  deregisterTaskDefinition,
  listTaskDefinitions,
  registerTaskDefinition,
  resolveTaskDefinition,
} from "../../ops/task-definitions.ts";
import { taskDefinitionView } from "../../views/ecs.ts";
import { jsonBody } from "../errors.ts";

export function taskDefinitionRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.post("/", async (c) => {
    const { warnings, ...row } = await registerTaskDefinition(ctx, await jsonBody(c));
    // warnings: fields of describe-task-definition output that were accepted and ignored.
    return c.json({ taskDefinition: taskDefinitionView(row), warnings }, 201);
  });
  app.get("/", async (c) => {
    const q = c.req.query("status");
    const status = q === "INACTIVE" || q === "DELETE_IN_PROGRESS" ? q : "ACTIVE";
    const rows = await listTaskDefinitions(ctx, { familyPrefix: c.req.query("familyPrefix"), status });
    const families = [...new Set(rows.map((r) => r.family))];
    return c.json({ families, taskDefinitionArns: rows.map((r) => r.arn) });
  });
  app.get("/:ref", async (c) => {
    const row = await resolveTaskDefinition(ctx, c.req.param("ref"));
    return c.json({ taskDefinition: taskDefinitionView(row) });
  });
  app.delete("/:ref", async (c) => {
    const row = await deregisterTaskDefinition(ctx, c.req.param("ref"));
    return c.json({ taskDefinition: taskDefinitionView(row) });
  });
  return app;
}
