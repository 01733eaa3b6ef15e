import { and, eq, inArray, ne } from "drizzle-orm";
import type { InstanceView } from "../placement/index.ts";
import type { Db } from "../db/open.ts";
import type { InstanceRow } from "../db/rows.ts";
import { containerInstances, tasks } from "../db/schema.ts";

/** Builds the placement engine's view of instances from the store, with live task groups. */
export async function loadInstanceViews(db: Db, clusterName: string, ids?: string[]): Promise<InstanceView[]> {
  if (ids && ids.length === 0) return [];
  // A refresh by ids filters the cluster here rather than in SQL: with both conditions SQLite may
  // walk the cluster index (every instance of the cluster) instead of looking the ids up.
  const rows = (
    await db
      .select()
      .from(containerInstances)
      .where(and(ids ? inArray(containerInstances.id, ids) : eq(containerInstances.clusterName, clusterName), ne(containerInstances.status, "INACTIVE")))
      .all()
  ).filter((r) => r.clusterName === clusterName);
  const live = await db
    .select({ instanceId: tasks.instanceId, group: tasks.group })
    .from(tasks)
    // With ids, filter by instance only: instance ids are unique across clusters, and adding the
    // cluster lets SQLite pick a cluster index and scan every task of the cluster per refresh.
    .where(and(ids ? inArray(tasks.instanceId, ids) : eq(tasks.clusterName, clusterName), ne(tasks.lastStatus, "STOPPED")))
    .all();
  const groups = new Map<string, Map<string, number>>();
  for (const t of live) {
    const g = groups.get(t.instanceId) ?? new Map<string, number>();
    g.set(t.group, (g.get(t.group) ?? 0) + 1);
    groups.set(t.instanceId, g);
  }
  return rows.map((r) => toInstanceView(r, groups.get(r.id) ?? new Map()));
}

/** The instance columns the engine's view is built from. */
export type ViewColumns = Pick<
  InstanceRow,
  "id" | "arn" | "status" | "agentConnected" | "healthStatus" | "registeredAt" | "version" | "registeredCpu" | "registeredMemory" | "usedCpu" | "usedMemory" | "usedPorts" | "attributes"
>;

export function toInstanceView(r: ViewColumns, groups: Map<string, number>): InstanceView {
  const health = r.healthStatus;
  return {
    id: r.id,
    arn: r.arn,
    status: r.status,
    agentConnected: r.agentConnected,
    healthStatus: health === "IMPAIRED" ? "IMPAIRED" : health === "OK" ? "OK" : "UNKNOWN",
    registeredAt: r.registeredAt,
    version: r.version,
    registered: { cpu: r.registeredCpu, memory: r.registeredMemory },
    remaining: { cpu: r.registeredCpu - r.usedCpu, memory: r.registeredMemory - r.usedMemory },
    usedPorts: { tcp: new Set(r.usedPorts.tcp), udp: new Set(r.usedPorts.udp) },
    attributes: r.attributes,
    runningTasksCount: [...groups.values()].reduce((a, b) => a + b, 0),
    groups,
  };
}
