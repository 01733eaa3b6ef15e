/**
 * Event stream benchmark (issue 16): `--subscribers` clients on `GET /v1/events` (server-sent
 * events) while `--rate` task state changes a second are made for `--seconds` seconds. Target:
 * 1,000 changes a second to 20 subscribers without falling behind.
 *
 * The changes go through the path an agent's go through: `applyReports` (the report batcher's
 * operation) with full reports of hollow instances, each change a container's health flipping
 * HEALTHY ↔ UNHEALTHY on a RUNNING task (an ECS Task State Change each, written with the task row
 * in one transaction). The control service runs in this process (a real HTTP server, libSQL file,
 * embedded broker: test/helpers/control.ts); the subscribers run in another process
 * (lib/sse-subscribers.ts) so that reading 20 streams does not take the control's event loop.
 *
 * Measured: events each subscriber received per second of the run; whether every subscriber got
 * every event of the log exactly once and in id order; delivery lag (the event's time, stamped when
 * the change is applied, to its arrival at the subscriber; one wall clock, one machine) p50/p99,
 * overall and per second of the run; the drain (last change applied → last subscriber has it).
 * A subscriber falls behind when its lag grows over the run: `keptUp` needs exact delivery, the
 * changes made at ≥ 95 % of the rate (streams that slow the control down fail here), the last
 * second's lag p99 ≤ 1 s and a drain ≤ 1 s. Prints one JSON object.
 *
 *   bun scripts/bench/events-stream.ts [--rate 1000] [--seconds 10] [--subscribers 20]
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { latestEventId, readEvents } from "../../control/events/log.ts";
import { createActivation } from "../../control/ops/activations.ts";
import { nextDesiredStates } from "../../control/ops/desired.ts";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { applyReports } from "../../control/ops/reports.ts";
import type { HealthStatus, Report, ReportedTask } from "../../shared/messages.ts";
import { startTestControl, TEST_TOKEN } from "../../test/helpers/control.ts";
import { benchArgs, target } from "./lib/args.ts";
import { percentile } from "./lib/percentiles.ts";
import { round, sampleProcess } from "./lib/proc-stats.ts";

const args = benchArgs();
const RATE = Math.max(1, args.num("rate", 1000));
const SECONDS = Math.max(1, args.num("seconds", 10));
const SUBSCRIBERS = Math.max(1, args.num("subscribers", 20));
/** Tasks per hollow instance: each report carries them all, as an agent's does. */
const TASKS_PER_INSTANCE = 10;
/** Changes are made in bursts this often: about one instance's report each at full size, as 100 agents reporting once a second at random moments reach the report batcher. */
const TICK_MS = 10;
/** Keeping up: the last second's lag p99 and the drain stay under this. */
const KEPT_UP_MS = 1000;
const CLUSTER = "bench-events";
const log = (m: string) => process.stderr.write(`[events-stream] ${m}\n`);

interface HollowTask {
  instanceId: string;
  taskId: string;
  health: HealthStatus;
  startedAt: number;
}

const tc = await startTestControl();
const ctx = tc.control.ctx;
const bootId = crypto.randomUUID();
let seq = 0;

/** One instance's full known state, as its agent reports it. */
function report(instanceId: string, tasks: HollowTask[], now: number): { instanceId: string; report: Report } {
  const reported: ReportedTask[] = tasks.map((t) => ({
    taskId: t.taskId,
    knownStatus: "RUNNING",
    startedAt: t.startedAt,
    containers: [{ name: "app", image: "flotilla/hollow:bench", status: "RUNNING", runtimeId: `${t.taskId}-app`, startedAt: t.startedAt, essential: true, healthStatus: t.health }],
  }));
  return { instanceId, report: { instanceId, bootId, seq: ++seq, generation: 0, sentAt: now, tasks: reported } };
}

async function setUp(): Promise<{ tasks: HollowTask[]; byInstance: Map<string, HollowTask[]> }> {
  const must = async (method: string, path: string, body: unknown) => {
    const r = await tc.api(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await must("POST", "/v1/clusters", { clusterName: CLUSTER });
  await must("POST", "/v1/task-definitions", {
    family: "events-bench",
    containerDefinitions: [{ name: "app", image: "flotilla/hollow:bench", memory: 16, essential: true, healthCheck: { command: ["CMD-SHELL", "true"], interval: 5 } }],
  });
  const instances = Math.ceil(RATE / TASKS_PER_INSTANCE);
  const ids: string[] = [];
  for (let i = 0; i < instances; i++) {
    const act = await createActivation(ctx, CLUSTER, {});
    const reg = await registerContainerInstance(ctx, act.activationId, act.activationCode, {
      hostname: `events-bench-${i}`,
      resources: { cpu: 4096, memory: 65536 },
      attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" },
      versionInfo: { agentVersion: "bench", dockerVersion: "hollow" },
    });
    if (!reg.ok) throw new Error(reg.reason);
    await applyPresence(ctx, reg.instance.id, { connected: true, epoch: 1 });
    ids.push(reg.instance.id);
  }
  // One task for each change a second: every task flips once a second.
  for (let n = 0; n < RATE; n += 10) await must("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "events-bench", count: Math.min(10, RATE - n) });
  const now = Date.now();
  const byInstance = new Map<string, HollowTask[]>();
  for (const [instanceId, desired] of await nextDesiredStates(ctx, ids, false)) {
    byInstance.set(instanceId, desired.tasks.map((d) => ({ instanceId, taskId: d.taskId, health: "HEALTHY" as HealthStatus, startedAt: now })));
  }
  const tasks = [...byInstance.values()].flat();
  if (tasks.length !== RATE) throw new Error(`placed ${tasks.length} tasks, wanted ${RATE}`);
  // Everything RUNNING and HEALTHY before the subscribers start.
  await applyReports(ctx, [...byInstance].map(([id, ts]) => report(id, ts, now)));
  return { tasks, byInstance };
}

/**
 * Makes `RATE` changes a second for `SECONDS`; returns when the last is applied. `behindMs`: the
 * most a burst was applied after its oldest change was due (the producer's own lag, not the stream's).
 */
async function produce(tasks: HollowTask[], byInstance: Map<string, HollowTask[]>): Promise<{ changes: number; elapsedMs: number; behindMs: number }> {
  const total = RATE * SECONDS;
  const t0 = performance.now();
  let made = 0;
  let next = 0;
  let behindMs = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    const due = Math.min(tasks.length, Math.min(total, Math.floor((RATE * elapsed) / 1000)) - made);
    if (due > 0) {
      const touched = new Set<string>();
      for (let i = 0; i < due; i++) {
        const t = tasks[next]!;
        next = (next + 1) % tasks.length;
        t.health = t.health === "HEALTHY" ? "UNHEALTHY" : "HEALTHY";
        touched.add(t.instanceId);
      }
      const now = Date.now();
      await applyReports(ctx, [...touched].map((id) => report(id, byInstance.get(id)!, now)));
      behindMs = Math.max(behindMs, performance.now() - t0 - ((made + 1) * 1000) / RATE);
      made += due;
    }
    if (made >= total) return { changes: made, elapsedMs: performance.now() - t0, behindMs };
    // The next burst boundary; a late one is made at once, with what fell due meanwhile.
    const wait = TICK_MS - ((performance.now() - t0) % TICK_MS);
    await Bun.sleep(wait);
  }
}

function lagStats(lags: number[]) {
  return { n: lags.length, p50: round(percentile(lags, 50)), p99: round(percentile(lags, 99)), max: lags.length ? Math.max(...lags) : NaN };
}

/** Least-squares slope of lag against time: how fast a subscriber falls behind (ms of lag per s). */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const result: Record<string, unknown> = { benchmark: "events-stream", config: { rate: RATE, seconds: SECONDS, subscribers: SUBSCRIBERS, tasks: RATE, tasksPerInstance: TASKS_PER_INSTANCE, tickMs: TICK_MS } };
let subscribers: ReturnType<typeof Bun.spawn<"pipe", "pipe", "inherit">> | undefined;
try {
  log(`setting up ${RATE} tasks on ${Math.ceil(RATE / TASKS_PER_INSTANCE)} hollow instances`);
  const { tasks, byInstance } = await setUp();
  const startId = await latestEventId(ctx.db);
  subscribers = Bun.spawn(["bun", join(import.meta.dir, "lib", "sse-subscribers.ts"), "--url", tc.control.httpUrl, "--token", TEST_TOKEN, "--subscribers", String(SUBSCRIBERS), "--after", String(startId)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = subscribers.stdout.getReader();
  let text = "";
  const readLine = async (): Promise<string> => {
    while (!text.includes("\n")) {
      const { value, done } = await out.read();
      if (done) throw new Error(`the subscriber process ended (exit ${await subscribers!.exited}) before answering`);
      text += new TextDecoder().decode(value);
    }
    const i = text.indexOf("\n");
    const line = text.slice(0, i);
    text = text.slice(i + 1);
    return line;
  };
  if ((await readLine()) !== "ready") throw new Error("the subscriber process did not say ready");
  log(`${SUBSCRIBERS} subscribers open after event ${startId}; producing ${RATE}/s for ${SECONDS} s`);

  const loadBefore = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const sub0 = sampleProcess(subscribers.pid);
  const wallStart = Date.now();
  const produced = await produce(tasks, byInstance);
  const wallEnd = Date.now();
  const controlCpu = process.cpuUsage(cpu0);
  const sub1 = sampleProcess(subscribers.pid);
  const endId = await latestEventId(ctx.db);
  subscribers.stdin.write(`end ${endId}\n`);
  subscribers.stdin.flush();
  const got = JSON.parse(await readLine()) as { streams: { status: number; ids: number[]; at: number[]; error?: string }[] };
  await subscribers.exited;
  const loadAfter = loadavg()[0]!;

  // What the log holds after the start: what every subscriber should have, in this order.
  const expected: { id: number; time: number; task: boolean }[] = [];
  for (let after = startId; after < endId; ) {
    const page = await readEvents(ctx.db, after, {}, 500);
    if (page.length === 0) break;
    for (const e of page) expected.push({ id: e.id, time: Date.parse(e.envelope.time), task: e.envelope["detail-type"] === "ECS Task State Change" });
    after = page.at(-1)!.id;
  }
  const timeOf = new Map(expected.map((e) => [e.id, e.time]));
  const expectedIds = expected.map((e) => e.id);
  const seconds = (wallEnd - wallStart) / 1000;

  const allLags: number[] = [];
  // Seconds of the run by when the event was made; the few made after the last full second count in it.
  const perWindow: number[][] = Array.from({ length: SECONDS }, () => []);
  const xs: number[] = [];
  const perStream = got.streams.map((s) => {
    const seen = new Set<number>();
    let duplicates = 0;
    let outOfOrder = 0;
    s.ids.forEach((id, i) => {
      if (seen.has(id)) duplicates++;
      seen.add(id);
      if (i > 0 && id <= s.ids[i - 1]!) outOfOrder++;
      const t = timeOf.get(id);
      if (t === undefined) return;
      const lag = s.at[i]! - t;
      allLags.push(lag);
      xs.push((t - wallStart) / 1000);
      perWindow[Math.min(perWindow.length - 1, Math.max(0, Math.floor((t - wallStart) / 1000)))]!.push(lag);
    });
    const missing = expectedIds.filter((id) => !seen.has(id)).length;
    const exact = s.ids.length === expectedIds.length && s.ids.every((id, i) => id === expectedIds[i]);
    const drainMs = s.at.length ? Math.max(0, s.at.at(-1)! - wallEnd) : NaN;
    return { status: s.status, received: s.ids.length, missing, duplicates, outOfOrder, exact, perSecond: round(s.ids.length / seconds), drainMs, ...(s.error ? { error: s.error } : {}) };
  });
  const windows = perWindow.map((lags, i) => ({ second: i, ...lagStats(lags) }));
  const last = windows.filter((w) => w.n > 0).at(-1);
  const drainMs = Math.max(...perStream.map((s) => s.drainMs));
  const everyEventExactlyOnce = perStream.every((s) => s.exact);
  const taskEvents = expected.filter((e) => e.task).length;
  const lastP99 = last?.p99 ?? NaN;
  const targets = {
    // The control must also apply the changes at the rate: streams that slow it down fail here.
    changesPerSecond: target(round(taskEvents / seconds), RATE * 0.95, "min"),
    lastSecondLagP99Ms: target(lastP99, KEPT_UP_MS),
    drainMs: target(drainMs, KEPT_UP_MS),
  };
  Object.assign(result, {
    produced: { changes: produced.changes, taskStateChangeEvents: taskEvents, eventsInLog: expected.length, firstId: expectedIds[0], lastId: endId, seconds: round(seconds, 2), perSecond: round(taskEvents / seconds), producerMaxBehindMs: round(produced.behindMs) },
    delivery: {
      everyEventExactlyOnce,
      perSubscriberPerSecond: { min: Math.min(...perStream.map((s) => s.perSecond)), max: Math.max(...perStream.map((s) => s.perSecond)) },
      missing: perStream.reduce((a, s) => a + s.missing, 0),
      duplicates: perStream.reduce((a, s) => a + s.duplicates, 0),
      outOfOrder: perStream.reduce((a, s) => a + s.outOfOrder, 0),
    },
    lagMs: { ...lagStats(allLags), slopeMsPerSecond: round(slope(xs, allLags)), perSecond: windows },
    drainMs,
    targets,
    keptUp: everyEventExactlyOnce && Object.values(targets).every((t) => t.met),
    cpuPercentOfOneCore: {
      controlAndProducer: round(((controlCpu.user + controlCpu.system) / 1000 / (wallEnd - wallStart)) * 100),
      subscribers: round(((sub1.cpuSeconds - sub0.cpuSeconds) / seconds) * 100),
    },
    loadAverage: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
    subscribers: perStream,
  });
} catch (e) {
  result.error = (e as Error).stack ?? String(e);
  process.exitCode = 1;
} finally {
  if (subscribers && subscribers.exitCode === null) subscribers.kill();
  await tc.stop();
}
console.log(JSON.stringify(result, null, 2));
