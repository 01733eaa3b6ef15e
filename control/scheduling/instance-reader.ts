import type Database from "libsql";
import { openNative, type NativeTarget } from "./native-connection.ts";
import { getTableName } from "drizzle-orm";
import type { InstanceView } from "../placement/index.ts";
import { containerInstances as ci, tasks } from "../db/schema.ts";
import { toInstanceView, type ViewColumns } from "./instance-views.ts";

type Statement = Database.Statement;

interface RawInstance {
  id: string;
  cluster_name: string;
  arn: string;
  status: ViewColumns["status"];
  agent_connected: number;
  health_status: ViewColumns["healthStatus"];
  registered_at: number;
  version: number;
  registered_cpu: number;
  registered_memory: number;
  used_cpu: number;
  used_memory: number;
  used_ports: string;
  registered_gpus: string;
  used_gpus: string;
  attributes: string;
}

const INSTANCE_COLUMNS = [
  ci.id,
  ci.clusterName,
  ci.arn,
  ci.status,
  ci.agentConnected,
  ci.healthStatus,
  ci.registeredAt,
  ci.version,
  ci.registeredCpu,
  ci.registeredMemory,
  ci.usedCpu,
  ci.usedMemory,
  ci.usedPorts,
  ci.registeredGpus,
  ci.usedGpus,
  ci.attributes,
]
  .map((c) => `"${c.name}"`)
  .join(", ");
const INSTANCES = `"${getTableName(ci)}"`;
const TASKS = `"${getTableName(tasks)}"`;
const LIVE = `"${tasks.lastStatus.name}" != 'STOPPED'`;

/**
 * The placement index's reads (a cluster's instances with their live task groups; a few
 * instances after a change) with statements prepared once on a connection of their own: the only
 * implementation of them. Through drizzle and @libsql/client those two queries cost more than
 * the placement itself (see docs/benchmarks.md). On the main thread: in WAL mode a read never
 * waits for a writer, so it never blocks the event loop on a lock.
 */
export class InstanceReader {
  private readonly db: Database.Database;
  private readonly instanceById: Statement;
  private readonly groupsOfInstance: Statement;
  private readonly instancesOfCluster: Statement;
  private readonly groupsOfCluster: Statement;

  constructor(target: NativeTarget) {
    this.db = openNative(target, "PRAGMA busy_timeout=0");
    const notInactive = `"${ci.status.name}" != 'INACTIVE'`;
    this.instanceById = this.db.prepare(`SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCES} WHERE "${ci.id.name}" = ? AND ${notInactive}`);
    this.groupsOfInstance = this.db.prepare(
      `SELECT "${tasks.group.name}" AS "group", count(*) AS n FROM ${TASKS} WHERE "${tasks.instanceId.name}" = ? AND ${LIVE} GROUP BY 1`,
    );
    this.instancesOfCluster = this.db.prepare(`SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCES} WHERE "${ci.clusterName.name}" = ? AND ${notInactive}`);
    this.groupsOfCluster = this.db.prepare(
      `SELECT "${tasks.instanceId.name}" AS instance, "${tasks.group.name}" AS "group", count(*) AS n FROM ${TASKS} ` +
        `WHERE "${tasks.clusterName.name}" = ? AND ${LIVE} GROUP BY 1, 2`,
    );
  }

  /** Every instance of the cluster that is not INACTIVE, as the engine sees it. */
  cluster(clusterName: string): InstanceView[] {
    const groups = new Map<string, Map<string, number>>();
    for (const r of this.groupsOfCluster.all([clusterName]) as { instance: string; group: string; n: number }[]) {
      let g = groups.get(r.instance);
      if (!g) groups.set(r.instance, (g = new Map()));
      g.set(r.group, r.n);
    }
    return (this.instancesOfCluster.all([clusterName]) as RawInstance[]).map((r) => toInstanceView(fromRaw(r), groups.get(r.id) ?? new Map()));
  }

  /** The instances among `ids` that belong to the cluster and are not INACTIVE. */
  instances(clusterName: string, ids: Iterable<string>): InstanceView[] {
    const views: InstanceView[] = [];
    for (const id of ids) {
      const r = this.instanceById.get([id]) as RawInstance | undefined;
      if (!r || r.cluster_name !== clusterName) continue;
      const groups = new Map<string, number>();
      for (const g of this.groupsOfInstance.all([id]) as { group: string; n: number }[]) groups.set(g.group, g.n);
      views.push(toInstanceView(fromRaw(r), groups));
    }
    return views;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function fromRaw(r: RawInstance): ViewColumns {
  return {
    id: r.id,
    arn: r.arn,
    status: r.status,
    agentConnected: r.agent_connected === 1,
    healthStatus: r.health_status,
    registeredAt: r.registered_at,
    version: r.version,
    registeredCpu: r.registered_cpu,
    registeredMemory: r.registered_memory,
    usedCpu: r.used_cpu,
    usedMemory: r.used_memory,
    usedPorts: JSON.parse(r.used_ports),
    registeredGpus: JSON.parse(r.registered_gpus),
    usedGpus: JSON.parse(r.used_gpus),
    attributes: JSON.parse(r.attributes),
  };
}
