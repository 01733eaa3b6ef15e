import { and, eq, ne } from "drizzle-orm";
import { containerInstances, tasks } from "../db/schema.ts";
import type { OpsContext } from "../ops/context.ts";

/** What placement needs to know about one instance; a pure value, built from the store. */
export interface InstanceSnapshot {
  id: string;
  arn: string;
  status: string;
  agentConnected: boolean;
  version: number;
  registeredAt: number;
  registered: { cpu: number; memory: number };
  remaining: { cpu: number; memory: number };
  usedPorts: { tcp: Set<number>; udp: Set<number> };
  attributes: Record<string, string>;
  runningTasksCount: number;
  groups: Map<string, number>;
}

/** Reads every live instance of a cluster with its remaining resources and task groups. */
export async function loadClusterSnapshot(ctx: OpsContext, clusterName: string): Promise<InstanceSnapshot[]> {
  const rows = await ctx.db
    .select()
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, clusterName), ne(containerInstances.status, "INACTIVE")))
    .all();
  const live = await ctx.db
    .select({ instanceId: tasks.instanceId, group: tasks.group })
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), ne(tasks.lastStatus, "STOPPED")))
    .all();
  const groupsByInstance = new Map<string, Map<string, number>>();
  for (const t of live) {
    const g = groupsByInstance.get(t.instanceId) ?? new Map<string, number>();
    g.set(t.group, (g.get(t.group) ?? 0) + 1);
    groupsByInstance.set(t.instanceId, g);
  }
  return rows.map((r) => {
    const groups = groupsByInstance.get(r.id) ?? new Map<string, number>();
    return {
      id: r.id,
      arn: r.arn,
      status: r.status,
      agentConnected: r.agentConnected,
      version: r.version,
      registeredAt: r.registeredAt,
      registered: { cpu: r.registeredCpu, memory: r.registeredMemory },
      remaining: { cpu: r.registeredCpu - r.usedCpu, memory: r.registeredMemory - r.usedMemory },
      usedPorts: { tcp: new Set(r.usedPorts.tcp), udp: new Set(r.usedPorts.udp) },
      attributes: r.attributes,
      runningTasksCount: [...groups.values()].reduce((a, b) => a + b, 0),
      groups,
    };
  });
}
