import { and, eq, inArray } from "drizzle-orm";
import { containerInstances, tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { InstanceRow } from "../db/rows.ts";
import { notYetStopped } from "./store.ts";

/** The columns of a container instance the service scheduler looks at. */
export type ServiceInstance = Pick<InstanceRow, "id" | "clusterName" | "status" | "agentConnected" | "lastSeenAt" | "attributes" | "registeredAt">;

const columns = {
  id: containerInstances.id,
  clusterName: containerInstances.clusterName,
  status: containerInstances.status,
  agentConnected: containerInstances.agentConnected,
  lastSeenAt: containerInstances.lastSeenAt,
  attributes: containerInstances.attributes,
  registeredAt: containerInstances.registeredAt,
};

/**
 * The instances one reconcile round needs. A REPLICA service only asks about the instances its
 * not-yet-STOPPED tasks are on (lost? draining?; a stopping task's instance decides whether it
 * still counts toward maximumPercent), so a round reads those — a few hundred rows — instead of every
 * instance of a 10,000-host cluster (a full-row read of 10,000 instances took 130–190 ms of the
 * control's event loop, and rounds run every 50 ms while reports arrive). Only a cluster with a
 * DAEMON service reads them all (one task per instance), and then only these columns.
 */
export async function loadServiceInstances(ctx: OpsContext, clusterName: string, serviceNames: string[], daemon: boolean): Promise<ServiceInstance[]> {
  if (daemon) return ctx.db.select(columns).from(containerInstances).where(eq(containerInstances.clusterName, clusterName)).all();
  if (serviceNames.length === 0) return [];
  const hosting = ctx.db
    .select({ id: tasks.instanceId })
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), inArray(tasks.serviceName, serviceNames), notYetStopped));
  return ctx.db.select(columns).from(containerInstances).where(inArray(containerInstances.id, hosting)).all();
}

/** Instances by id (a task whose instance the round's view lacks: never guess it lost). */
export async function loadInstancesById(ctx: OpsContext, ids: string[]): Promise<ServiceInstance[]> {
  if (ids.length === 0) return [];
  return ctx.db.select(columns).from(containerInstances).where(inArray(containerInstances.id, ids)).all();
}

/**
 * When the scheduler first saw each instance disconnected, per cluster. Only instances a round
 * loaded are remembered, so an instance that drops out of view (its service tasks gone) is
 * forgotten and a later disconnect starts a fresh grace period.
 */
export class DisconnectTracker {
  private byCluster = new Map<string, Map<string, number>>();

  /** @param startedAt a disconnect seen before this process started counts from its start. */
  constructor(private startedAt: number) {}

  /** Records one round's view of a cluster's instances. */
  observe(clusterName: string, instances: ServiceInstance[], now: number): void {
    const before = this.byCluster.get(clusterName);
    const next = new Map<string, number>();
    for (const inst of instances) {
      if (inst.agentConnected) continue;
      next.set(inst.id, before?.get(inst.id) ?? Math.max(inst.lastSeenAt ?? now, this.startedAt));
    }
    this.byCluster.set(clusterName, next);
  }

  /** Drops clusters no live service is in any more. */
  retain(clusterNames: Set<string>): void {
    for (const name of this.byCluster.keys()) if (!clusterNames.has(name)) this.byCluster.delete(name);
  }

  since(inst: ServiceInstance): number | undefined {
    return this.byCluster.get(inst.clusterName)?.get(inst.id);
  }
}
