import { and, eq, inArray, ne } from "drizzle-orm";
import type { InstanceView } from "../placement/index.ts";
import type { Db } from "../db/open.ts";
import { containerInstances, tasks } from "../db/schema.ts";

type InstanceRow = typeof containerInstances.$inferSelect;

/** Builds the placement engine's view of instances from the store, with live task groups. */
export async function loadInstanceViews(db: Db, clusterName: string, ids?: string[]): Promise<InstanceView[]> {
  if (ids && ids.length === 0) return [];
  const rows = await db
    .select()
    .from(containerInstances)
    .where(
      and(
        eq(containerInstances.clusterName, clusterName),
        ne(containerInstances.status, "INACTIVE"),
        ids ? inArray(containerInstances.id, ids) : undefined,
      ),
    )
    .all();
  const live = await db
    .select({ instanceId: tasks.instanceId, group: tasks.group })
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), ne(tasks.lastStatus, "STOPPED"), ids ? inArray(tasks.instanceId, ids) : undefined))
    .all();
  const groups = new Map<string, Map<string, number>>();
  for (const t of live) {
    const g = groups.get(t.instanceId) ?? new Map<string, number>();
    g.set(t.group, (g.get(t.group) ?? 0) + 1);
    groups.set(t.instanceId, g);
  }
  return rows.map((r) => toInstanceView(r, groups.get(r.id) ?? new Map()));
}

export function toInstanceView(r: InstanceRow, groups: Map<string, number>): InstanceView {
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
