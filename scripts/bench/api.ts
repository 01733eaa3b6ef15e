/**
 * API benchmark (issue 8): requests per second and latency percentiles of `GET` task lists and
 * `POST` RunTask with 100 concurrent clients (Bun fetch, keep-alive), each phase bounded in time,
 * against a separate control process whose cluster holds hollow agents (so RunTask places tasks).
 * Prints one JSON object.
 *
 *   bun scripts/bench/api.ts [--clients 100] [--seconds 10] [--agents 50] [--seed-tasks 200]
 */
import { benchArgs } from "./lib/args.ts";
import { BENCH_TOKEN, prepareCluster, registerTaskDefinition, startControlProcess, type ControlProcess } from "./lib/control-process.ts";
import { FleetWorkers } from "./lib/fleet-workers.ts";
import { summary } from "./lib/percentiles.ts";
import { cpuPercent, MiB, round, sampleProcess } from "./lib/proc-stats.ts";

const args = benchArgs();
const CLIENTS = args.num("clients", 100);
const SECONDS = args.num("seconds", 10);
const AGENTS = args.num("agents", 50);
const SEED_TASKS = args.num("seed-tasks", 200);
const CLUSTER = "api-bench";
const log = (line: string) => process.stderr.write(`[api] ${line}\n`);

async function phase(control: ControlProcess, name: string, request: () => Request) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const before = sampleProcess(control.pid);
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        let status = "network-error";
        try {
          const res = await fetch(request());
          await res.arrayBuffer();
          status = String(res.status);
        } catch {
          /* counted */
        }
        latencies.push(performance.now() - s);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const after = sampleProcess(control.pid);
  const r = { requests: latencies.length, requestsPerSecond: round(latencies.length / wall), latencyMs: summary(latencies), statuses, controlCpuPercent: round(cpuPercent(before, after)) };
  log(`${name}: ${JSON.stringify(r)}`);
  return r;
}

async function main() {
  const control = await startControlProcess();
  const workers = new FleetWorkers(1);
  const result: Record<string, unknown> = { benchmark: "api", config: { clients: CLIENTS, secondsPerPhase: SECONDS, hollowAgents: AGENTS, seedTasks: SEED_TASKS } };
  try {
    const activations = [];
    for (let i = 0; i < 8; i++) {
      const a = await prepareCluster(control, CLUSTER, AGENTS);
      activations.push({ id: a.activationId, code: a.activationCode });
    }
    await workers.start(AGENTS, { url: control.mqttUrl, activations, concurrency: 8, relistIntervalMs: 10_000, keepaliveSeconds: 10, timings: {}, image: "flotilla/hollow:bench" });
    const taskDefinition = await registerTaskDefinition(control, {
      family: "api-bench",
      containerDefinitions: [{ name: "app", image: "flotilla/hollow:bench", memory: 6, cpu: 1, essential: true }],
    });
    for (let n = 0; n < SEED_TASKS; n += 10) await control.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition, count: 10 });
    const headers = { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" };
    result.listTasks = await phase(control, "GET tasks", () => new Request(`${control.httpUrl}/v1/clusters/${CLUSTER}/tasks`, { headers }));
    const listed = (await control.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks.length;
    result.listTasks = { ...(result.listTasks as object), tasksPerResponse: listed };
    result.runTask = await phase(control, "POST RunTask", () =>
      new Request(`${control.httpUrl}/v1/clusters/${CLUSTER}/tasks`, { method: "POST", headers, body: JSON.stringify({ taskDefinition, count: 1 }) }),
    );
    result.control = { peakRssMiB: round(sampleProcess(control.pid).peakRssBytes / MiB) };
  } catch (e) {
    result.error = (e as Error).message;
    process.exitCode = 1;
  } finally {
    await workers.stop();
    await control.stop();
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
