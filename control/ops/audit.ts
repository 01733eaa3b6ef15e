import { desc, lt } from "drizzle-orm";
import { auditLog } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";

export type AuditRow = typeof auditLog.$inferSelect;
export type AuditEntry = Omit<AuditRow, "id" | "at">;

export async function recordAudit(ctx: OpsContext, entry: AuditEntry): Promise<void> {
  await ctx.serialize(() => ctx.db.insert(auditLog).values({ ...entry, at: ctx.clock.now() }));
}

/** Newest first; `before` is the id of the last entry of the previous page. */
export async function listAudit(ctx: OpsContext, opts: { limit?: number; before?: number } = {}): Promise<AuditRow[]> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const q = ctx.db.select().from(auditLog);
  const filtered = opts.before !== undefined ? q.where(lt(auditLog.id, opts.before)) : q;
  return filtered.orderBy(desc(auditLog.id)).limit(limit).all();
}

export function auditView(r: AuditRow) {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    who: r.tokenId === null ? null : { tokenId: r.tokenId, name: r.tokenName },
    method: r.method,
    path: r.path,
    action: r.action,
    status: r.status,
  };
}
