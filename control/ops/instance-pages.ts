import { and, asc, count, desc, eq, inArray, ne, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { InstanceRow } from "../db/rows.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { parseInput } from "./validate.ts";

/**
 * One page of a cluster's container instances, filtered and sorted in SQL so a cluster of 1,000
 * hosts costs one page of rows (and one task-count query for that page), not the whole fleet.
 */
export const INSTANCE_SORTS = ["hostname", "registeredAt", "lastSeenAt", "cpu", "memory"] as const;
export const INSTANCE_STATES = ["connected", "disconnected", "ACTIVE", "DRAINING", "IMPAIRED"] as const;

const pageQuery = z.object({
  state: z.enum(INSTANCE_STATES).optional(),
  /** `name` (present) or `name=value`. */
  attribute: z.string().max(256).optional(),
  sort: z.enum(INSTANCE_SORTS).default("registeredAt"),
  order: z.enum(["asc", "desc"]).default("asc"),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

export type InstancePageQuery = z.output<typeof pageQuery>;

export interface InstancePage {
  query: InstancePageQuery;
  rows: (InstanceRow & { runningTasksCount: number; pendingTasksCount: number })[];
  total: number;
  pages: number;
}

function sortColumn(sort: InstancePageQuery["sort"]): SQL {
  switch (sort) {
    case "hostname":
      return sql`${containerInstances.hostname}`;
    case "lastSeenAt":
      return sql`coalesce(${containerInstances.lastSeenAt}, 0)`;
    case "cpu":
      return sql`cast(${containerInstances.usedCpu} as real) / max(${containerInstances.registeredCpu}, 1)`;
    case "memory":
      return sql`cast(${containerInstances.usedMemory} as real) / max(${containerInstances.registeredMemory}, 1)`;
    default:
      return sql`${containerInstances.registeredAt}`;
  }
}

export async function pageContainerInstances(ctx: OpsContext, cluster: string, input: unknown): Promise<InstancePage> {
  const q = parseInput(pageQuery, input);
  const c = await requireCluster(ctx, cluster);
  const conds: SQL[] = [eq(containerInstances.clusterName, c.name), ne(containerInstances.status, "INACTIVE")];
  if (q.state === "connected") conds.push(eq(containerInstances.agentConnected, true));
  else if (q.state === "disconnected") conds.push(eq(containerInstances.agentConnected, false));
  else if (q.state === "IMPAIRED") conds.push(eq(containerInstances.healthStatus, "IMPAIRED"));
  else if (q.state) conds.push(eq(containerInstances.status, q.state));
  if (q.attribute) {
    const eqAt = q.attribute.indexOf("=");
    const name = (eqAt < 0 ? q.attribute : q.attribute.slice(0, eqAt)).trim();
    // The name is a JSON path member, quoted so dots in ECS names (ecs.os-type) stay one key.
    const path = `$."${name.replace(/["\\]/g, "")}"`;
    if (eqAt < 0) conds.push(sql`json_extract(${containerInstances.attributes}, ${path}) is not null`);
    else conds.push(sql`json_extract(${containerInstances.attributes}, ${path}) = ${q.attribute.slice(eqAt + 1).trim()}`);
  }
  const where = and(...conds);
  const [totalRow] = await ctx.db.select({ n: count() }).from(containerInstances).where(where);
  const total = totalRow?.n ?? 0;
  const pages = Math.max(1, Math.ceil(total / q.pageSize));
  const page = Math.min(q.page, pages);
  const dir = q.order === "desc" ? desc : asc;
  const rows = await ctx.db
    .select()
    .from(containerInstances)
    .where(where)
    .orderBy(dir(sortColumn(q.sort)), asc(containerInstances.id))
    .limit(q.pageSize)
    .offset((page - 1) * q.pageSize)
    .all();
  const counts = new Map<string, { running: number; pending: number }>();
  if (rows.length) {
    const live = await ctx.db
      .select({ instanceId: tasks.instanceId, lastStatus: tasks.lastStatus, n: count() })
      .from(tasks)
      .where(and(inArray(tasks.instanceId, rows.map((r) => r.id)), ne(tasks.lastStatus, "STOPPED")))
      .groupBy(tasks.instanceId, tasks.lastStatus)
      .all();
    for (const r of live) {
      const e = counts.get(r.instanceId) ?? { running: 0, pending: 0 };
      if (r.lastStatus === "RUNNING") e.running += r.n;
      else e.pending += r.n;
      counts.set(r.instanceId, e);
    }
  }
  return {
    query: { ...q, page },
    rows: rows.map((r) => ({ ...r, runningTasksCount: counts.get(r.id)?.running ?? 0, pendingTasksCount: counts.get(r.id)?.pending ?? 0 })),
    total,
    pages,
  };
}

/** Fleet-wide counts for an overview: hosts by connection and health, tasks by last status. */
export async function fleetCounts(ctx: OpsContext, cluster: string) {
  const c = await requireCluster(ctx, cluster);
  const hosts = await ctx.db
    .select({ connected: containerInstances.agentConnected, health: containerInstances.healthStatus, status: containerInstances.status, n: count() })
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, c.name), ne(containerInstances.status, "INACTIVE")))
    .groupBy(containerInstances.agentConnected, containerInstances.healthStatus, containerInstances.status)
    .all();
  const taskRows = await ctx.db
    .select({ lastStatus: tasks.lastStatus, n: count() })
    .from(tasks)
    .where(and(eq(tasks.clusterName, c.name), sql`(${tasks.lastStatus} <> 'STOPPED' or ${tasks.stoppedAt} > ${ctx.clock.now() - 3_600_000})`))
    .groupBy(tasks.lastStatus)
    .all();
  const sum = (f: (h: (typeof hosts)[number]) => boolean) => hosts.filter(f).reduce((a, h) => a + h.n, 0);
  return {
    hosts: {
      total: sum(() => true),
      connected: sum((h) => h.connected),
      disconnected: sum((h) => !h.connected),
      impaired: sum((h) => h.health === "IMPAIRED"),
      draining: sum((h) => h.status === "DRAINING"),
    },
    /** Tasks not stopped, plus those stopped in the last hour. */
    tasksByStatus: Object.fromEntries(taskRows.map((r) => [r.lastStatus, r.n])) as Record<string, number>,
  };
}
