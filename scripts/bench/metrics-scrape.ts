/**
 * /metrics scrape benchmark (issue 16): the control's Prometheus exposition over a fleet of
 * 10,000 hosts and 50,000 tasks, served over HTTP by the token-less metrics listener. Hosts are
 * inserted into container_instances directly (as placement-commit.ts does: what a hollow agent's
 * registration leaves), every task is placed by startTasks (RunTask's path: placement index,
 * commit worker) in RunTask-sized calls of 10, and four of five are then marked RUNNING. The
 * registry is the control's own (ControlMetrics, fleet gauges, process metrics), with API route
 * series filled by requests through the real API. Scrape time is measured from the client: GET
 * to the last byte, `--scrapes` times after a warm-up. With `--stats` every task also has a
 * container stats reading held in memory and belongs to one of 100 services: the per-service
 * usage gauges then join the readings to the tasks' services at every scrape. Prints one JSON object.
 *
 *   bun scripts/bench/metrics-scrape.ts [--hosts N] [--tasks N] [--scrapes N] [--stats]
 *   BENCH_PROFILE=1 also prints (stderr) what each family costs to collect, slowest first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { createApi } from "../../control/api/app.ts";
import { systemClock } from "../../control/clock.ts";
import { ContainerStatsStore } from "../../control/container-stats.ts";
import { openDatabase } from "../../control/db/open.ts";
import { containerInstances, tasks } from "../../control/db/schema.ts";
import { ControlMetrics } from "../../control/metrics/control-metrics.ts";
import { registerFleetGauges } from "../../control/metrics/fleet-gauges.ts";
import { startMetricsListener } from "../../control/metrics/listener.ts";
import { createCluster } from "../../control/ops/clusters.ts";
import { createSerializer, type OpsContext } from "../../control/ops/context.ts";
import { registerTaskDefinition } from "../../control/ops/task-definitions.ts";
import { ensureAdminToken } from "../../control/ops/tokens.ts";
import { PlacementIndexCache } from "../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../control/scheduling/placement-store.ts";
import { startTasks } from "../../control/scheduling/start-tasks.ts";
import { arn } from "../../shared/arn.ts";
import { target } from "./lib/args.ts";
import { percentile, summary } from "./lib/percentiles.ts";

const { values } = parseArgs({
  options: { hosts: { type: "string" }, tasks: { type: "string" }, scrapes: { type: "string" }, stats: { type: "boolean" } },
  strict: true,
});
const HOSTS = Number(values.hosts ?? 10_000);
const TASKS = Number(values.tasks ?? 50_000);
const SCRAPES = Number(values.scrapes ?? 50);
const TARGET_MS = 100;
const CLUSTERS = ["bench-a", "bench-b"];
const TOKEN = "bench-admin-token";

const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-metrics-"));
const database = await openDatabase(`file:${join(dir, "bench.db")}`);
const placement = PlacementStore.open(database);
const containerStats = new ContainerStatsStore({ samples: 2 });
const metrics = new ControlMetrics();
const ctx: OpsContext = {
  db: database.db,
  clock: systemClock,
  serialize: createSerializer(),
  desiredChanged: () => {},
  indexes: new PlacementIndexCache(placement, systemClock),
  placement,
  containerStats,
  metrics,
};

function instanceRow(n: number, now: number): typeof containerInstances.$inferInsert {
  const cluster = CLUSTERS[n % CLUSTERS.length]!;
  const id = `ci${n.toString(16).padStart(8, "0")}`;
  return {
    id,
    clusterName: cluster,
    arn: arn.containerInstance(cluster, id),
    status: "ACTIVE",
    activationId: "bench",
    credentialHash: "bench",
    hostname: `host-${n}`,
    // A few hosts offline and impaired, so those series exist.
    agentConnected: n % 50 !== 0,
    connectionEpoch: 1,
    registeredCpu: 4096,
    registeredMemory: 8192,
    usedPorts: { tcp: [], udp: [] },
    attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" },
    versionInfo: { agentVersion: "bench", dockerVersion: "bench" },
    registeredAt: now,
    healthStatus: n % 100 === 1 ? "IMPAIRED" : "OK",
    lastSeenAt: now,
  };
}

const ms = (t0: number) => performance.now() - t0;
try {
  const setup0 = performance.now();
  await ensureAdminToken(ctx, TOKEN);
  for (const clusterName of CLUSTERS) await createCluster(ctx, { clusterName });
  const now = Date.now();
  const rows = Array.from({ length: HOSTS }, (_, n) => instanceRow(n, now));
  for (let i = 0; i < rows.length; i += 500) await ctx.db.insert(containerInstances).values(rows.slice(i, i + 500));
  const td = await registerTaskDefinition(ctx, { family: "app", containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", cpu: 64, memory: 64 }] });
  let placed = 0;
  for (let call = 0; placed < TASKS; call++) {
    const started = await startTasks(ctx, { clusterName: CLUSTERS[call % CLUSTERS.length]!, taskDefinition: td, count: Math.min(10, TASKS - placed), group: "family:app" });
    placed += started.tasks.length;
    if (started.tasks.length === 0) throw new Error(`placement stopped at ${placed} tasks: ${JSON.stringify(started.failures)}`);
  }
  await ctx.db.update(tasks).set({ lastStatus: "RUNNING" }).where(sql`rowid % 5 != 0`);
  if (values.stats) {
    // 100 services' tasks, as a fleet run by services would be.
    await ctx.db.update(tasks).set({ serviceName: sql`'svc-' || (rowid % 100)` });
    const byInstance = new Map<string, Record<string, Record<string, [number, number]>>>();
    for (const t of await ctx.db.select({ id: tasks.id, instanceId: tasks.instanceId }).from(tasks).all()) {
      const m = byInstance.get(t.instanceId) ?? {};
      m[t.id] = { main: [128, 20_000_000] };
      byInstance.set(t.instanceId, m);
    }
    for (const [id, m] of byInstance) containerStats.apply(id, { at: Date.now(), tasks: m });
  }
  // API series as a running control has them: a request per route the console and CLI use most.
  const api = createApi(ctx);
  for (const path of ["/v1/clusters", `/v1/clusters/${CLUSTERS[0]}/tasks`, `/v1/clusters/${CLUSTERS[0]}/container-instances`, "/v1/task-definitions", "/healthz", "/nope"]) {
    for (let i = 0; i < 3; i++) await api.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
  }
  const setupSeconds = ms(setup0) / 1000;

  registerFleetGauges(metrics, {
    db: ctx.db,
    commitQueueDepth: () => placement.queueDepth,
    isLeader: () => true,
    ha: false,
    mqttConnections: () => HOSTS,
    brokerRefusals: () => ({ refusedConnects: 0, refusedPublishes: 0 }),
    containerStats,
  });
  const listener = startMetricsListener(metrics, { host: "127.0.0.1", port: 0 });
  const times: number[] = [];
  let bytes = 0;
  let series = 0;
  let firstScrapeMs = 0;
  try {
    // The first scrape is apart: it loads what later ones keep (which service each sampled task is in).
    const first0 = performance.now();
    await (await fetch(listener.url)).text();
    firstScrapeMs = Math.round(ms(first0) * 10) / 10;
    for (let i = 0; i < 5; i++) await (await fetch(listener.url)).text();
    for (let i = 0; i < SCRAPES; i++) {
      const t0 = performance.now();
      const text = await (await fetch(listener.url)).text();
      times.push(ms(t0));
      bytes = text.length;
      series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    }
  } finally {
    await listener.stop();
  }
  if (process.env.BENCH_PROFILE) {
    const all: [string, number][] = [];
    for (const m of metrics.registry.getMetricsAsArray()) {
      const t: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await metrics.registry.getSingleMetricAsString(m.name);
        t.push(ms(t0));
      }
      all.push([m.name, summary(t).p50]);
    }
    console.error(JSON.stringify(all.sort((a, b) => b[1] - a[1]).slice(0, 8)));
    const whole: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await metrics.registry.metrics();
      whole.push(ms(t0));
    }
    console.error("registry.metrics()", JSON.stringify(summary(whole)));
  }
  const p = { ...summary(times), p95: Math.round(percentile(times, 95) * 10) / 10 };
  console.log(
    JSON.stringify(
      {
        bench: "metrics-scrape",
        setup: { hosts: HOSTS, tasks: TASKS, clusters: CLUSTERS.length, containerStats: values.stats ?? false, scrapes: SCRAPES, setupSeconds: Math.round(setupSeconds) },
        firstScrapeMs,
        scrapeMs: p,
        targets: { scrapeP95Ms: target(p.p95, TARGET_MS) },
        exposition: { bytes, series },
        machine: { cpus: cpus().length, loadavg1: Number(loadavg()[0]!.toFixed(2)) },
      },
      null,
      2,
    ),
  );
} finally {
  placement.close();
  database.close();
  rmSync(dir, { recursive: true, force: true });
}
