/**
 * Services benchmark (issue 5, issue 13), as users run Flotilla: the control service, the agent
 * and Docker as separate processes on one host. Measured, `--reps` times (median reported):
 *   - scale a service 10 → 50, against the limit of the same engine: 40 `docker run -d` of the
 *     same image, 8 at a time, run in the same repetition (the order alternates, so drift of a
 *     shared machine falls on both);
 *   - a killed container (killed through the Engine API, as `docker kill` does) until its
 *     replacement task is RUNNING through the API;
 * then once: a rolling update of 50 with minimumHealthyPercent 90 / maximumPercent 110.
 * The breakdown says where the time goes: the control's latency trace (FLOTILLA_LATENCY_TRACE)
 * and every Docker call the agent made (through a counting proxy on DOCKER_HOST).
 * Prints one JSON object.
 *
 *   bun scripts/bench/services.ts [--image flotilla/busybox:test] [--reps 3] [--from 10] [--to 50] [--parallel 8] [--no-rolling] [--dump file.json]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wallNow } from "../../control/latency-trace.ts";
import { startBenchAgent, until } from "./lib/agent-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess } from "./lib/control-process.ts";
import { dockerApi } from "./lib/docker-api.ts";
import { startDockerProxy } from "./lib/docker-proxy.ts";
import { round, sampleProcess } from "./lib/proc-stats.ts";
import { readTrace, replacementBreakdown, scaleUpBreakdown } from "./lib/scale-breakdown.ts";

const args = benchArgs();
const IMAGE = args.str("image", "flotilla/busybox:test");
const REPS = Math.max(1, Math.round(args.num("reps", 3)));
const FROM = Math.max(1, Math.round(args.num("from", 10)));
const TO = Math.max(FROM + 1, Math.round(args.num("to", 50)));
const PARALLEL = Math.max(1, Math.round(args.num("parallel", 8)));
const ROLLING = !args.flag("no-rolling");
/** Keeps the raw records (Docker calls, control trace) in this file for a closer look. */
const DUMP = args.str("dump", "");
const CLUSTER = "svc-bench";
const TARGETS = { scaleVsDockerRatio: 1.2, rollingUpdate50Ms: 15_000, killedReplacedMs: 1000 };
/** A task that dies sooner after starting counts as a launch failure and is throttled (control/services/task-health.ts). */
const LONG_LIVED_MS = 5000;
/**
 * How often the API is polled for "steady" and for the replacement. Polling is itself load on the
 * control (a DescribeServices costs it several ms of CPU): every 10 ms took a quarter of a core
 * from the engine being measured.
 */
const POLL_MS = { steady: 100, replacement: 20 };
const log = (line: string) => process.stderr.write(`[services] ${line}\n`);

async function sh(...cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")}: ${err.trim()}`);
  return out.trim();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const work = mkdtempSync(join(tmpdir(), "flotilla-svc-bench-"));
const traceFile = join(work, "control-trace.jsonl");
process.env.FLOTILLA_LATENCY_TRACE = traceFile;
const control = await startControlProcess();
delete process.env.FLOTILLA_LATENCY_TRACE;
const proxy = await startDockerProxy(join(work, "docker.sock"));
const baselineNames: string[] = [];
let agent: ReturnType<typeof startBenchAgent> | undefined;
let instanceId: string | undefined;
const result: Record<string, unknown> = {
  host: { cpus: navigator.hardwareConcurrency },
  image: IMAGE,
  setup: { processes: "control (bun control/main.ts), agent (bun agent/main.ts), dockerd", reps: REPS, from: FROM, to: TO, baselineParallel: PARALLEL },
};

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const r = await control.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const svcPath = `/v1/clusters/${CLUSTER}/services/web`;
const tasksOf = async () => ((await api("GET", `/v1/clusters/${CLUSTER}/tasks`)).tasks as any[]).filter((t) => t.group === "service:web");
const runningTasks = async () => (await tasksOf()).filter((t) => t.lastStatus === "RUNNING");
const steady = (n: number, rev?: string) =>
  until(
    `service steady at ${n}`,
    async () => {
      const s = (await api("GET", svcPath)).service;
      return s.deployments.length === 1 && s.runningCount === n && s.pendingCount === 0 && (!rev || s.deployments[0].taskDefinition.endsWith(rev)) && s;
    },
    // Bounded, but generous: on a machine shared with test runs 40 starts have taken 110 s.
    300_000,
    POLL_MS.steady,
  );
/** The agent's containers on the engine (stopped ones go after --task-cleanup-wait). */
const agentContainers = async () => (await sh("docker", "ps", "-aq", "--filter", `label=flotilla.instance-id=${instanceId}`)).split("\n").filter(Boolean);
/** The processes whose CPU the breakdown counts: ours, and the engine's. */
const enginePids = async () => ({
  dockerd: Number((await sh("pgrep", "-xo", "dockerd").catch(() => "")) || 0),
  containerd: Number((await sh("pgrep", "-xo", "containerd").catch(() => "")) || 0),
});
let pids: Record<string, number> = {};
const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? sampleProcess(pid).cpuSeconds : 0]));
/** CPU seconds each process used since `before`, and how busy the machine was (1-minute load). */
function cpuSince(before: Record<string, number>) {
  const after = cpuNow();
  return {
    cpuSeconds: Object.fromEntries(Object.keys(after).map((k) => [k, round(after[k]! - before[k]!, 2)])),
    loadAverage: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
  };
}

/** The trace is flushed once a second. */
const trace = async () => {
  await Bun.sleep(1200);
  return readTrace(traceFile);
};

/** 40 `docker run -d` of the same image, `PARALLEL` at a time: what the engine itself takes. */
async function dockerRunBaseline(rep: number) {
  const names = Array.from({ length: TO - FROM }, (_, i) => `flotilla-svc-bench-${process.pid}-${rep}-${i}`);
  baselineNames.push(...names);
  await agentQuiet();
  const cpu = cpuNow();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < names.length) await sh("docker", "run", "-d", "--name", names[next++]!, "-m", "16m", IMAGE);
    }),
  );
  const ms = performance.now() - t0;
  const used = cpuSince(cpu);
  await sh("docker", "rm", "-f", ...names);
  baselineNames.splice(0, baselineNames.length, ...baselineNames.filter((n) => !names.includes(n)));
  return { ms, ...used };
}

async function scaleUp() {
  await agentQuiet();
  const before = new Set((await runningTasks()).map((t) => t.taskId));
  const cpu = cpuNow();
  const w0 = wallNow();
  const t0 = performance.now();
  await api("PATCH", svcPath, { desiredCount: TO });
  await steady(TO);
  const ms = performance.now() - t0;
  const seen = wallNow();
  const used = cpuSince(cpu);
  const fresh = (await runningTasks()).map((t) => t.taskId).filter((id) => !before.has(id));
  return { ms, breakdown: { ...scaleUpBreakdown(await trace(), proxy.calls, w0, seen, fresh), ...used } };
}

/** Back to FROM tasks, with the stopped containers removed, so every repetition starts alike. */
async function scaleDown() {
  await api("PATCH", svcPath, { desiredCount: FROM });
  await steady(FROM);
  await until("stopped containers removed", async () => (await agentContainers()).length === FROM, 60_000, 200);
  await agentQuiet();
}

/**
 * Until the agent has made no Docker call but its periodic relist for 1.5 s, so the removal of
 * the scaled-in tasks' containers does not fall into the next measurement.
 */
async function agentQuiet() {
  await until(
    "the agent's Docker calls to settle",
    async () => {
      const since = wallNow() - 1500;
      const recent = proxy.calls.filter((c) => c.at >= since);
      return recent.length <= 3 && recent.every((c) => c.kind === "GET /containers/json");
    },
    60_000,
    250,
  );
}

async function killOne() {
  // Only a task that ran a while is replaced at once; one dying young is a launch failure (throttled).
  const victim = await until(
    "a long-lived task",
    async () => (await runningTasks()).find((t) => Date.parse(t.startedAt) < Date.now() - LONG_LIVED_MS - 500),
    30_000,
    200,
  );
  await agentQuiet();
  const known = new Set((await tasksOf()).map((t) => t.taskId));
  const w0 = wallNow();
  const t0 = performance.now();
  // Killed through the Engine API, as `docker kill` does, but without counting the CLI's own start
  // (a Go binary spawned per call, 0.1-0.2 s here) as part of the reaction to the kill.
  const killed = await dockerApi("POST", `/containers/${victim.containers[0].runtimeId}/kill`);
  if (killed.status !== 204) throw new Error(`kill: ${killed.status} ${JSON.stringify(killed.body)}`);
  const replacement = await until("replacement RUNNING", async () => (await runningTasks()).find((t) => !known.has(t.taskId)), 30_000, POLL_MS.replacement);
  const ms = performance.now() - t0;
  const seen = wallNow();
  await steady(FROM);
  return { ms, breakdown: replacementBreakdown(await trace(), proxy.calls, w0, seen, victim.taskId, replacement.taskId) };
}

try {
  const activation = await prepareCluster(control, CLUSTER, 1);
  agent = startBenchAgent({
    control: control.mqttUrl,
    activation,
    // Stopped tasks' containers go soon, so each repetition sees the engine as the first did
    // (but not so soon that the killed container's removal falls inside its replacement).
    args: ["--introspection-port", "0", "--task-cleanup-wait", "3"],
    env: { DOCKER_HOST: `unix://${proxy.path}` },
  });
  // "bench" is this process: the API polling and the Docker proxy.
  pids = { control: control.pid, agent: agent.pid, bench: process.pid, ...(await enginePids()) };
  instanceId = await until(
    "agent to connect",
    async () => ((await api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).containerInstances as any[]).find((i) => i.agentConnected)?.containerInstanceId,
    30_000,
    100,
  );
  result.instanceId = instanceId;
  const td = (rev: string) => ({
    family: "bench-web",
    containerDefinitions: [{ name: "web", image: IMAGE, memory: 16, cpu: 10, essential: true, stopTimeout: 2, environment: [{ name: "REV", value: rev }] }],
  });
  await registerTaskDefinition(control, td("1"));
  await registerTaskDefinition(control, td("2"));

  let t0 = performance.now();
  await api("POST", `/v1/clusters/${CLUSTER}/services`, {
    serviceName: "web",
    taskDefinition: "bench-web:1",
    desiredCount: FROM,
    deploymentConfiguration: { minimumHealthyPercent: 90, maximumPercent: 110 },
  });
  await steady(FROM);
  result.serviceToRunningMs = { tasks: FROM, ms: Math.round(performance.now() - t0) };
  log(`${FROM} running in ${Math.round(performance.now() - t0)} ms`);

  const runs: { scaleMs: number; dockerRunMs: number; ratio: number; baseline: unknown; breakdown: unknown }[] = [];
  const replacements: { ms: number; breakdown: unknown }[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // Alternate the order so a machine getting busier (or quieter) weighs on both sides.
    let baseline: Awaited<ReturnType<typeof dockerRunBaseline>> | undefined;
    if (rep % 2 === 0) baseline = await dockerRunBaseline(rep);
    const up = await scaleUp();
    if (rep % 2 === 1) baseline = await dockerRunBaseline(rep);
    const dockerRunMs = baseline!.ms;
    runs.push({
      scaleMs: Math.round(up.ms),
      dockerRunMs: Math.round(dockerRunMs),
      ratio: +(up.ms / dockerRunMs).toFixed(2),
      baseline: { cpuSeconds: baseline!.cpuSeconds, loadAverage: baseline!.loadAverage },
      breakdown: up.breakdown,
    });
    log(`rep ${rep + 1}: ${FROM} → ${TO} in ${Math.round(up.ms)} ms; ${TO - FROM} docker run -d (${PARALLEL} at a time) in ${Math.round(dockerRunMs)} ms; ratio ${(up.ms / dockerRunMs).toFixed(2)}`);
    await scaleDown();
    const kill = await killOne();
    replacements.push({ ms: Math.round(kill.ms), breakdown: kill.breakdown });
    log(`rep ${rep + 1}: killed container replaced in ${Math.round(kill.ms)} ms`);
  }
  const ratio = median(runs.map((r) => r.ratio));
  const replacedMs = median(replacements.map((r) => r.ms));
  result.scaleUp = {
    from: FROM,
    to: TO,
    medianMs: median(runs.map((r) => r.scaleMs)),
    medianDockerRunMs: median(runs.map((r) => r.dockerRunMs)),
    medianRatio: ratio,
    target: target(ratio, TARGETS.scaleVsDockerRatio),
    runs,
  };
  result.killedContainerReplaced = { medianMs: replacedMs, target: target(replacedMs, TARGETS.killedReplacedMs), runs: replacements };

  if (ROLLING) {
    await api("PATCH", svcPath, { desiredCount: TO });
    await steady(TO);
    // Sampled (a benchmark figure, not a proof: services-replica.test.ts derives it from start/stop times).
    let minRunning = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        minRunning = Math.min(minRunning, (await runningTasks()).length);
        await Bun.sleep(50);
      }
    })();
    t0 = performance.now();
    await api("PATCH", svcPath, { taskDefinition: "bench-web:2" });
    await steady(TO, "bench-web:2");
    const rollMs = performance.now() - t0;
    sampling = false;
    await sampler;
    result.rollingUpdate = { tasks: TO, ms: Math.round(rollMs), minRunningDuringRollout: minRunning, minimumHealthy: Math.ceil(TO * 0.9), target: target(rollMs, TARGETS.rollingUpdate50Ms) };
    log(`rolling update of ${TO} in ${Math.round(rollMs)} ms (min running ${minRunning})`);
  }
} finally {
  await api("DELETE", `${svcPath}?force=true`).catch(() => undefined);
  if (instanceId) await until("service tasks stopped", async () => (await runningTasks()).length === 0, 60_000, 200).catch(() => undefined);
  await agent?.stop();
  // Everything this run started: the agent's containers (by its instance label) and the baseline's.
  const left = instanceId ? await agentContainers().catch(() => []) : [];
  if (left.length) await sh("docker", "rm", "-f", ...left);
  if (baselineNames.length) await sh("docker", "rm", "-f", ...baselineNames).catch(() => undefined);
  await control.stop();
  await proxy.close();
  if (DUMP) await Bun.write(DUMP, JSON.stringify({ dockerCalls: proxy.calls, controlTrace: await Bun.file(traceFile).text().catch(() => "") }));
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
