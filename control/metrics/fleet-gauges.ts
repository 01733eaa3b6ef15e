import { and, count, inArray, isNotNull, ne, sql } from "drizzle-orm";
import type { ContainerStatsStore } from "../container-stats.ts";
import type { Db } from "../db/open.ts";
import { agentUpgrades, containerInstances, deployments, tasks } from "../db/schema.ts";
import type { ControlMetrics } from "./control-metrics.ts";

export interface FleetGaugeSources {
  db: Db;
  /** Commits and releases handed to the commit worker and not yet answered. */
  commitQueueDepth: () => number;
  /** Without HA, always true. */
  isLeader: () => boolean;
  ha: boolean;
  /** Clients connected to the embedded broker (absent for an external broker: it counts its own). */
  mqttConnections?: () => number;
  /** The embedded broker's refusals (connects, publishes, subscribes), as counts since start. */
  brokerRefusals?: () => Record<string, number>;
  containerStats?: ContainerStatsStore;
}

/**
 * Gauges of the fleet, computed at scrape time: each is one grouped query (or an in-memory read),
 * so /metrics stays cheap at 10,000 hosts and 50,000 tasks (scripts/bench/metrics-scrape.ts) and
 * never drifts from the database the way a counter kept beside every write would.
 */
export function registerFleetGauges(m: ControlMetrics, src: FleetGaugeSources): void {
  const { db } = src;
  m.scrapeGauge("flotilla_tasks", "Tasks by cluster and lastStatus.", ["cluster", "last_status"], async (g) => {
    const rows = await db
      .select({ cluster: tasks.clusterName, status: tasks.lastStatus, n: count() })
      .from(tasks)
      .groupBy(tasks.clusterName, tasks.lastStatus)
      .all();
    g.reset();
    for (const r of rows) g.set({ cluster: r.cluster, last_status: r.status }, r.n);
  });

  // Instances: one query feeds three gauges; the collects run in turn, so the first one reads.
  let instanceRows: Promise<{ cluster: string; status: string; connected: boolean; impaired: number; behind: number; n: number }[]> | undefined;
  const readInstances = () =>
    (instanceRows ??= db
      .select({
        cluster: containerInstances.clusterName,
        status: containerInstances.status,
        connected: containerInstances.agentConnected,
        impaired: sql<number>`sum(case when ${containerInstances.healthStatus} = 'IMPAIRED' then 1 else 0 end)`,
        behind: sql<number>`sum(case when ${containerInstances.reportedGeneration} < ${containerInstances.desiredGeneration} then 1 else 0 end)`,
        n: count(),
      })
      .from(containerInstances)
      .where(ne(containerInstances.status, "INACTIVE"))
      .groupBy(containerInstances.clusterName, containerInstances.status, containerInstances.agentConnected)
      .all()
      .finally(() => queueMicrotask(() => (instanceRows = undefined))));
  m.scrapeGauge("flotilla_container_instances", "Registered container instances (not INACTIVE) by cluster, status and agent connection.", ["cluster", "status", "agent"], async (g) => {
    const rows = await readInstances();
    g.reset();
    for (const r of rows) g.inc({ cluster: r.cluster, status: r.status, agent: r.connected ? "connected" : "disconnected" }, r.n);
  });
  m.scrapeGauge("flotilla_container_instances_impaired", "Container instances whose agent reports healthStatus IMPAIRED.", ["cluster"], async (g) => {
    const rows = await readInstances();
    g.reset();
    for (const r of rows) g.inc({ cluster: r.cluster }, Number(r.impaired));
  });
  m.scrapeGauge(
    "flotilla_container_instances_generation_behind",
    "Container instances whose agent has not yet reported the latest desired generation sent to it.",
    ["cluster"],
    async (g) => {
      const rows = await readInstances();
      g.reset();
      for (const r of rows) g.inc({ cluster: r.cluster }, Number(r.behind));
    },
  );

  m.scrapeGauge("flotilla_deployments", "Service deployments (not INACTIVE) by cluster and rolloutState.", ["cluster", "rollout_state"], async (g) => {
    const rows = await db
      .select({ cluster: deployments.clusterName, state: deployments.rolloutState, n: count() })
      .from(deployments)
      .where(ne(deployments.status, "INACTIVE"))
      .groupBy(deployments.clusterName, deployments.rolloutState)
      .all();
    g.reset();
    for (const r of rows) g.set({ cluster: r.cluster, rollout_state: r.state }, r.n);
  });

  // Agent upgrades (docs/agent-upgrades.md): what a fleet runs, and how its updates are going.
  m.scrapeGauge("flotilla_agent_versions", "Registered container instances (not INACTIVE) by cluster and the agent version they report.", ["cluster", "version"], async (g) => {
    const version = sql<string>`coalesce(json_extract(${containerInstances.versionInfo}, '$.agentVersion'), 'unknown')`;
    const rows = await db
      .select({ cluster: containerInstances.clusterName, version, n: count() })
      .from(containerInstances)
      .where(ne(containerInstances.status, "INACTIVE"))
      .groupBy(containerInstances.clusterName, version)
      .all();
    g.reset();
    for (const r of rows) g.set({ cluster: r.cluster, version: r.version }, r.n);
  });
  m.scrapeGauge("flotilla_agent_updates", "Container instances by cluster and agentUpdateStatus of their last agent update (instances never updated are left out).", ["cluster", "status"], async (g) => {
    const rows = await db
      .select({ cluster: containerInstances.clusterName, status: containerInstances.agentUpdateStatus, n: count() })
      .from(containerInstances)
      .where(and(ne(containerInstances.status, "INACTIVE"), isNotNull(containerInstances.agentUpdateStatus)))
      .groupBy(containerInstances.clusterName, containerInstances.agentUpdateStatus)
      .all();
    g.reset();
    for (const r of rows) g.set({ cluster: r.cluster, status: r.status! }, r.n);
  });
  m.scrapeGauge("flotilla_agent_upgrades", "Rolling agent upgrades by cluster and status (IN_PROGRESS, SUCCESSFUL, FAILED).", ["cluster", "status"], async (g) => {
    const rows = await db.select({ cluster: agentUpgrades.clusterName, status: agentUpgrades.status, n: count() }).from(agentUpgrades).groupBy(agentUpgrades.clusterName, agentUpgrades.status).all();
    g.reset();
    for (const r of rows) g.set({ cluster: r.cluster, status: r.status }, r.n);
  });

  m.scrapeGauge("flotilla_commit_queue_depth", "Placement commits and releases waiting for the commit worker.", [], (g) => g.set(src.commitQueueDepth()));
  m.scrapeGauge("flotilla_leader", "1 while this control process is the leader (runs the schedulers); always 1 without HA.", ["ha"], (g) =>
    g.set({ ha: src.ha ? "true" : "false" }, src.isLeader() ? 1 : 0),
  );
  const connections = src.mqttConnections;
  if (connections) m.scrapeGauge("flotilla_mqtt_connections", "MQTT clients connected to the embedded broker (agents and the control itself).", [], (g) => g.set(connections()));
  m.scrapeGauge("flotilla_mqtt_refusals", "The embedded broker's refusals since start, by kind (connect, publish, subscribe...).", ["kind"], (g) => {
    g.reset();
    for (const [kind, n] of Object.entries(src.brokerRefusals?.() ?? {})) g.set({ kind }, n);
  });

  // Container stats (docs/container-stats.md), summed per service: what auto scaling reads, in
  // series bounded by the services there are. Per task they would be two series per container
  // (100,000 at 50,000 tasks: 11.7 MB and ~300 ms a scrape, scripts/bench/metrics-scrape.ts);
  // a task's own readings are in GET task.
  const stats = src.containerStats;
  if (stats) {
    const usage = serviceUsage(db, stats);
    let perService: ReturnType<typeof usage> | undefined;
    const readPerService = () => (perService ??= usage().finally(() => queueMicrotask(() => (perService = undefined))));
    m.scrapeGauge("flotilla_service_cpu_units", "Latest sampled cpu use of a service's tasks together, in CPU units (1024 = one CPU).", ["cluster", "service"], async (g) => {
      const usage = await readPerService();
      g.reset();
      for (const u of usage.values()) g.set({ cluster: u.cluster, service: u.service }, u.cpu);
    });
    m.scrapeGauge("flotilla_service_memory_bytes", "Latest sampled memory use of a service's tasks together, in bytes.", ["cluster", "service"], async (g) => {
      const usage = await readPerService();
      g.reset();
      for (const u of usage.values()) g.set({ cluster: u.cluster, service: u.service }, u.memory);
    });
    m.scrapeGauge("flotilla_service_sampled_tasks", "A service's tasks with a recent container stats reading (what the two sums cover).", ["cluster", "service"], async (g) => {
      const usage = await readPerService();
      g.reset();
      for (const u of usage.values()) g.set({ cluster: u.cluster, service: u.service }, u.tasks);
    });
  }
}

type TaskService = { cluster: string; service: string } | null;

/**
 * Latest readings summed per task, then per service (tasks run by no service are left out). A
 * task's service never changes, so each task id is looked up once (a scrape asks only for tasks
 * new since the last one) and forgotten once it has no reading any more.
 */
function serviceUsage(db: Db, stats: ContainerStatsStore) {
  const known = new Map<string, TaskService>();
  return async () => {
    const perTask = new Map<string, { cpu: number; memory: number }>();
    for (const e of stats.snapshot()) {
      const t = perTask.get(e.taskId) ?? { cpu: 0, memory: 0 };
      t.cpu += e.cpuUnits ?? 0;
      t.memory += e.memoryBytes;
      perTask.set(e.taskId, t);
    }
    const missing = [...perTask.keys()].filter((id) => !known.has(id));
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      for (const id of chunk) known.set(id, null);
      const rows = await db.select({ id: tasks.id, cluster: tasks.clusterName, service: tasks.serviceName }).from(tasks).where(inArray(tasks.id, chunk)).all();
      for (const r of rows) if (r.service) known.set(r.id, { cluster: r.cluster, service: r.service });
    }
    if (known.size > perTask.size) for (const id of known.keys()) if (!perTask.has(id)) known.delete(id);
    const out = new Map<string, { cluster: string; service: string; cpu: number; memory: number; tasks: number }>();
    for (const [id, t] of perTask) {
      const s = known.get(id);
      if (!s) continue;
      const key = `${s.cluster}\u0000${s.service}`;
      const u = out.get(key) ?? { cluster: s.cluster, service: s.service, cpu: 0, memory: 0, tasks: 0 };
      u.cpu += t.cpu;
      u.memory += t.memory;
      u.tasks++;
      out.set(key, u);
    }
    return out;
  };
}
