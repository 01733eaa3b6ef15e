import { Hono } from "hono";
import { auditView, listAudit } from "../../ops/audit.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid } from "../../ops/errors.ts";

function intQuery(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw invalid(`${name} must be a whole number`, [{ path: name, message: "must be a whole number" }]);
  return Number(v);
}

export function auditRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/", async (c) => {
    const rows = await listAudit(ctx, { limit: intQuery("limit", c.req.query("limit")), before: intQuery("before", c.req.query("before")) });
    return c.json({ entries: rows.map(auditView) });
  });
  return app;
}
