/**
 * Fleet scale benchmark (issue 8): N hollow agents — real agent code (createAgent, MqttAgentLink,
 * activation registration) over real MQTT connections, with the in-memory HollowRuntime — against a
 * separate `bun control/main.ts` process, with its embedded broker or (--broker mosquitto) Debian's
 * Mosquitto 2 in the control's external-broker mode. Measures time to register and connect them
 * all, the control's (and broker's) CPU and RSS while the fleet idles, MQTT bytes per idle agent,
 * RunTask → RUNNING latency under that fleet with where the time goes (control, broker, agents:
 * lib/latency-breakdown.ts), placement throughput, and a service scale-up with each task's time
 * from the scale-up call to RUNNING. Prints one JSON object.
 *
 *   bun scripts/bench/fleet.ts [--agents N] [--tasks M] [--burst B] [--workers W] [--idle-seconds S]
 *                              [--service-scale K] [--concurrency C] [--relist-ms MS] [--keepalive S] [--start-latency-ms MS]
 *                              [--broker embedded|mosquitto] [--trace]
 */
import { rmSync } from "node:fs";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess, type ControlProcess } from "./lib/control-process.ts";
import { FleetWorkers } from "./lib/fleet-workers.ts";
import { summary } from "./lib/percentiles.ts";
import { latencyBreakdown, readControlTrace, type BenchMarks } from "./lib/latency-breakdown.ts";
import { cpuPercent, MiB, round, sampleProcess, type ProcSample } from "./lib/proc-stats.ts";
import { startMosquitto, type MosquittoProcess } from "./lib/mosquitto-process.ts";

const args = benchArgs();
const AGENTS = args.num("agents", 1000);
const TASKS = args.num("tasks", 200);
const BURST = args.num("burst", Math.min(1000, AGENTS * 2));
const SERVICE_SCALE = args.num("service-scale", Math.min(500, AGENTS));
const WORKERS = args.num("workers", Math.max(1, Math.min(4, Math.ceil(AGENTS / 1000))));
const IDLE_SECONDS = args.num("idle-seconds", 60);
const TASK_CONCURRENCY = args.num("concurrency", 10);
const RELIST_MS = args.num("relist-ms", 10_000);
const KEEPALIVE_S = args.num("keepalive", 10);
const START_LATENCY_MS = args.num("start-latency-ms", 40);
/**
 * The control and the agents always record a per-task timeline (lib/latency-breakdown.ts; a Set
 * insert and a JSON line per stage): it is how the service scale-up gets a per-task RUNNING time
 * without polling the control it measures. --trace also logs the slowest tasks' breakdown.
 */
const TRACE = args.flag("trace");
/** embedded: the control's own aedes; mosquitto: Debian's Mosquitto 2 with dynamic security (external-broker mode). */
const BROKER = args.str("broker", "embedded");
if (BROKER !== "embedded" && BROKER !== "mosquitto") throw new Error(`--broker must be embedded or mosquitto, got "${BROKER}"`);
/**
 * Registrations in flight per worker. Over Mosquitto 2.0 they queue in the control behind the
 * dynamic-security plugin, whose cost per registration grows with the instances already there:
 * 24-36 ms of broker CPU per 1,000 on this machine kind, depending on the day (dynsec-provisioning
 * benchmark; the 10,000-agent run: 355 ms per registration between 9,000 and 10,000). Registrations
 * finish in waves of all the slots, each waiting for every one ahead of it; the agent gives up after
 * 30 s (agent/link/register.ts) while the control still provisions it, so its retry would lengthen
 * the queue for all the others. So the slots are sized for a queue of ~15 s at the fleet's final
 * size, with margin: 32 per worker up to 3,000 agents, 16 at 5,000, 8 at 10,000.
 */
const MOSQUITTO_REG_MS_PER_1000 = 45;
const REG_QUEUE_WAIT_BUDGET_MS = 15_000;
const REG_CONCURRENCY = args.num(
  "reg-concurrency",
  BROKER === "mosquitto" ? Math.max(2, Math.min(32, Math.floor(REG_QUEUE_WAIT_BUDGET_MS / ((MOSQUITTO_REG_MS_PER_1000 * AGENTS) / 1000) / WORKERS))) : 32,
);
const CLUSTER = "fleet-bench";
const IMAGE = "flotilla/hollow:bench";

const TARGETS = { registerAllMs: 60_000, idleControlCpuPercent: 30, peakControlRssMiB: 2048, idleUplinkKbitPerAgent: 0.05, runTaskToRunningP99Ms: 500, serviceScaleUpAllRunningMs: 5000 };

const log = (line: string) => process.stderr.write(`[fleet] ${line}\n`);

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

async function connectedCount(control: ControlProcess): Promise<number> {
  const r = await control.api("GET", `/v1/clusters/${CLUSTER}/container-instances`);
  return (r.body.containerInstances as { agentConnected: boolean }[]).filter((i) => i.agentConnected).length;
}

const wallNow = () => performance.timeOrigin + performance.now();
/** The benchmark's own marks per task, for --trace. */
const benchMarks = new Map<string, BenchMarks>();

/** RunTask count 1, then the task is read back until the control service records it RUNNING. */
async function runOneToRunning(control: ControlProcess, taskDefinition: string): Promise<number | string> {
  const t0 = performance.now();
  const sent = wallNow();
  const r = await control.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition, count: 1, startedBy: "fleet-latency" });
  const task = r.body.tasks?.[0];
  if (!task) return `RunTask: ${JSON.stringify(r.body.failures ?? r.body)}`;
  const taskId = task.taskArn.split("/").pop() as string;
  const marks: BenchMarks = { sent };
  benchMarks.set(taskId, marks);
  const deadline = t0 + 30_000;
  while (performance.now() < deadline) {
    const d = await control.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`);
    if (d.body.task?.lastStatus === "RUNNING") {
      marks.seen = wallNow();
      return performance.now() - t0;
    }
    if (d.body.task?.lastStatus === "STOPPED") return `task stopped: ${d.body.task.stoppedReason}`;
    await Bun.sleep(5);
  }
  return "not RUNNING within 30 s";
}

async function main() {
  const traceFile = `/tmp/flotilla-fleet-trace-${process.pid}.jsonl`;
  process.env.FLOTILLA_LATENCY_TRACE = traceFile;
  const mosquitto: MosquittoProcess | undefined = BROKER === "mosquitto" ? await startMosquitto() : undefined;
  const brokerArgs = mosquitto
    ? ["--broker", "external", "--broker-url", mosquitto.url, "--broker-admin-user", mosquitto.adminUser, "--broker-admin-password", mosquitto.adminPassword]
    : [];
  const control = await startControlProcess({ log: process.env.BENCH_CONTROL_LOG === "1", args: brokerArgs }).catch(async (e) => {
    await mosquitto?.stop();
    throw e;
  });
  /** The external broker's process, sampled like the control's (the embedded one is inside the control). */
  const brokerSample = () => (mosquitto ? sampleProcess(mosquitto.pid) : undefined);
  const workers = new FleetWorkers(WORKERS);
  const result: Record<string, unknown> = {
    benchmark: "fleet",
    config: { agents: AGENTS, tasks: TASKS, burst: BURST, serviceScale: SERVICE_SCALE, workers: WORKERS, idleSeconds: IDLE_SECONDS, registrationConcurrencyPerWorker: REG_CONCURRENCY, taskConcurrency: TASK_CONCURRENCY, relistMs: RELIST_MS, keepaliveSeconds: KEEPALIVE_S, hollowStartLatencyMs: START_LATENCY_MS, broker: mosquitto ? "Mosquitto 2 (dynamic security, external-broker mode)" : "embedded (aedes)" },
  };
  try {
    // One activation per registration slot (see FleetWorkerConfig.activations), each with room
    // for its share of the fleet plus retries.
    const slots = WORKERS * REG_CONCURRENCY;
    const activations: { id: string; code: string }[] = [];
    for (let i = 0; i < slots; i++) {
      const a = await prepareCluster(control, CLUSTER, Math.ceil(AGENTS / slots) * 2 + 10);
      activations.push({ id: a.activationId, code: a.activationCode });
    }
    const taskDefinition = await registerTaskDefinition(control, {
      family: "fleet-bench",
      containerDefinitions: [{ name: "app", image: IMAGE, memory: 16, cpu: 8, essential: true }],
    });

    // ---- registration ----
    const before = sampleProcess(control.pid);
    const brokerBefore = brokerSample();
    const fleetBefore = workers.pids.map(sampleProcess);
    const t0 = performance.now();
    let lastLog = 0;
    await workers.start(
      AGENTS,
      {
        url: control.mqttUrl,
        activations,
        concurrency: REG_CONCURRENCY,
        relistIntervalMs: RELIST_MS,
        keepaliveSeconds: KEEPALIVE_S,
        timings: { startLatencyMs: START_LATENCY_MS },
        image: IMAGE,
        trace: true,
      },
      (registered, connected) => {
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          log(`${Math.round((performance.now() - t0) / 1000)} s: ${registered} registered, ${connected} connected; control ${round(sampleProcess(control.pid).rssBytes / MiB)} MiB`);
        }
      },
    );
    const agentsUpMs = performance.now() - t0;
    log(`all ${AGENTS} agents registered and connected (agent side) after ${Math.round(agentsUpMs)} ms`);
    await waitUntil("the control service to see every agent connected", async () => ((await connectedCount(control)) >= AGENTS ? true : undefined), 600_000, 500);
    const registerAllMs = performance.now() - t0;
    const afterReg = sampleProcess(control.pid);
    const brokerAfterReg = brokerSample();
    const fleetAfter = workers.pids.map(sampleProcess);
    log(`control sees all ${AGENTS} connected after ${Math.round(registerAllMs)} ms`);
    result.registration = {
      registerAllMs: Math.round(registerAllMs),
      agentSideAllConnectedMs: Math.round(agentsUpMs),
      perSecond: round(AGENTS / (registerAllMs / 1000)),
      controlCpuPercentDuring: round(cpuPercent(before, afterReg)),
      controlRssMiBAfter: round(afterReg.rssBytes / MiB),
      fleetCpuPercentDuring: round(fleetBefore.reduce((s, b, i) => s + cpuPercent(b, fleetAfter[i]!), 0)),
      ...(brokerBefore && brokerAfterReg
        ? { brokerCpuPercentDuring: round(cpuPercent(brokerBefore, brokerAfterReg)), brokerRssMiBAfter: round(brokerAfterReg.rssBytes / MiB), dynsecFileMiB: round(mosquitto!.dynsecBytes() / MiB, 2) }
        : {}),
    };

    // ---- idle ----
    // Let the last reports and facts drain before the idle window starts.
    await Bun.sleep(Math.min(15_000, 2000 + AGENTS));
    const idleStart = sampleProcess(control.pid);
    const brokerIdleStart = brokerSample();
    const s0 = await workers.stats();
    await Bun.sleep(IDLE_SECONDS * 1000);
    const idleEnd = sampleProcess(control.pid);
    const brokerIdleEnd = brokerSample();
    const s1 = await workers.stats();
    const minutes = (idleEnd.at - idleStart.at) / 60_000;
    const upBytesPerAgentMin = (s1.bytesOut - s0.bytesOut) / AGENTS / minutes;
    const downBytesPerAgentMin = (s1.bytesIn - s0.bytesIn) / AGENTS / minutes;
    const idleCpu = cpuPercent(idleStart, idleEnd);
    result.idle = {
      seconds: round(minutes * 60),
      controlCpuPercentOfOneCore: round(idleCpu, 2),
      controlRssMiB: round(idleEnd.rssBytes / MiB),
      ...(brokerIdleStart && brokerIdleEnd ? { brokerCpuPercentOfOneCore: round(cpuPercent(brokerIdleStart, brokerIdleEnd), 2), brokerRssMiB: round(brokerIdleEnd.rssBytes / MiB) } : {}),
      connected: s1.connected,
      reconnectsDuringRun: s1.reconnects,
      registrationRetries: s1.registrationRetries,
      workerUnhandledRejections: s1.unhandledRejections,
      uplinkBytesPerAgentPerMinute: round(upBytesPerAgentMin, 2),
      downlinkBytesPerAgentPerMinute: round(downBytesPerAgentMin, 2),
      uplinkKbitPerSecondPerAgent: round((upBytesPerAgentMin * 8) / 1000 / 60, 5),
      fleetWorkersRssMiB: round(s1.rssBytes / MiB),
      fleetWorkersRssKiBPerAgent: round(s1.rssBytes / 1024 / AGENTS),
    };
    log(`idle: control ${round(idleCpu, 2)} % CPU, ${round(idleEnd.rssBytes / MiB)} MiB; uplink ${round(upBytesPerAgentMin, 2)} B/agent/min`);

    // ---- RunTask → RUNNING under the fleet ----
    // The first RunTask after start loads the cluster's placement index (every instance): timed
    // alone, so it neither hides in nor sets the steady-state percentiles below.
    const first = await runOneToRunning(control, taskDefinition);
    const firstRunTaskMs = typeof first === "number" ? round(first) : first;
    benchMarks.clear();
    const latencies: number[] = [];
    const failures: string[] = [];
    let issued = 0;
    const lt0 = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(TASK_CONCURRENCY, TASKS) }, async () => {
        while (issued < TASKS) {
          issued++;
          const r = await runOneToRunning(control, taskDefinition);
          typeof r === "number" ? latencies.push(r) : failures.push(r);
        }
      }),
    );
    result.runTaskToRunning = { ...summary(latencies), failures: failures.length, firstFailures: failures.slice(0, 3), wallMs: Math.round(performance.now() - lt0), firstRunTaskMs };
    log(`RunTask → RUNNING: ${JSON.stringify(result.runTaskToRunning)}`);
    // The control appends its marks once a second.
    await Bun.sleep(1500);
    const breakdown = latencyBreakdown(benchMarks, readControlTrace(traceFile), await workers.trace());
    result.runTaskTrace = TRACE ? breakdown : { segments: breakdown.segments, controlStalls: breakdown.controlStalls, agentWorkerStalls: breakdown.agentWorkerStalls };
    if (TRACE) log(`trace (control side in ${traceFile}): ${JSON.stringify(breakdown.slowest)}`);

    // ---- placement throughput: RunTask count 10 as fast as the API takes them ----
    let placed = 0;
    let calls = 0;
    const placementFailures: string[] = [];
    const bt0 = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (calls * 10 < BURST) {
          calls++;
          const r = await control.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition, count: 10, startedBy: "fleet-burst" });
          placed += r.body.tasks?.length ?? 0;
          for (const f of r.body.failures ?? []) placementFailures.push(f.reason);
        }
      }),
    );
    const placeMs = performance.now() - bt0;
    const expected = latencies.length + placed + (typeof first === "number" ? 1 : 0);
    let allRunningMs: number | null = null;
    try {
      await waitUntil("burst tasks to run", async () => ((await workers.stats()).running >= expected ? true : undefined), 120_000, 250);
      allRunningMs = Math.round(performance.now() - bt0);
    } catch {
      /* reported as null */
    }
    // ---- service scale-up: desiredCount 0 → SERVICE_SCALE, until the service reports them RUNNING ----
    if (SERVICE_SCALE > 0) {
      const created = await control.api("POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: "fleet-svc", taskDefinition, desiredCount: 0 });
      if (created.status >= 300) {
        result.serviceScaleUp = { error: `CreateService: ${JSON.stringify(created.body)}` };
      } else {
        const st0 = performance.now();
        const scaleSent = wallNow();
        const upd = await control.api("PATCH", `/v1/clusters/${CLUSTER}/services/fleet-svc`, { desiredCount: SERVICE_SCALE });
        let polledAllRunningMs: number | null = null;
        let deploymentId: string | undefined;
        const deadline = st0 + 180_000;
        // DescribeServices reads every task of the service to count them: polled gently, so the
        // benchmark does not load the control it measures. Per-task times come from the trace.
        while (upd.status < 300 && performance.now() < deadline) {
          const svc = (await control.api("GET", `/v1/clusters/${CLUSTER}/services/fleet-svc`)).body.service;
          deploymentId ??= svc?.deployments?.find((d: { status: string }) => d.status === "PRIMARY")?.id;
          if ((svc?.runningCount ?? 0) >= SERVICE_SCALE) {
            polledAllRunningMs = Math.round(performance.now() - st0);
            break;
          }
          await Bun.sleep(250);
        }
        // Each task's RUNNING as the control recorded it (the trace's reportApplied), from the PATCH.
        await Bun.sleep(1500);
        const svcTasks = deploymentId ? ((await control.api("GET", `/v1/clusters/${CLUSTER}/tasks?startedBy=${encodeURIComponent(deploymentId)}`)).body.tasks as { taskArn: string }[]) : [];
        const controlTrace = readControlTrace(traceFile);
        const perTask = svcTasks.flatMap((t) => {
          const at = controlTrace.marks.get(t.taskArn.split("/").pop()!)?.reportApplied;
          return at === undefined ? [] : [at - scaleSent];
        });
        // Where the scale-up's time goes, with the PATCH as every task's start.
        const svcMarks = new Map<string, BenchMarks>(svcTasks.map((t) => [t.taskArn.split("/").pop()!, { sent: scaleSent }]));
        const svcBreakdown = latencyBreakdown(svcMarks, controlTrace, await workers.trace());
        result.serviceScaleUp = {
          desiredCount: SERVICE_SCALE,
          tasks: svcTasks.length,
          toRunningMs: summary(perTask),
          allRunningMs: perTask.length >= SERVICE_SCALE ? Math.round(Math.max(...perTask)) : null,
          polledAllRunningMs,
          segments: svcBreakdown.segments,
          controlStalls: svcBreakdown.controlStalls,
          agentWorkerStalls: svcBreakdown.agentWorkerStalls,
          ...(upd.status >= 300 ? { error: JSON.stringify(upd.body) } : {}),
        };
      }
      log(`service scale-up: ${JSON.stringify(result.serviceScaleUp)}`);
    }

    const peak = sampleProcess(control.pid);
    result.placement = {
      tasks: placed,
      runTaskCalls: calls,
      tasksPlacedPerSecond: round(placed / (placeMs / 1000)),
      failures: placementFailures.length,
      firstFailures: [...new Set(placementFailures)].slice(0, 3),
      burstAllContainersRunningMs: allRunningMs,
    };
    result.control = { peakRssMiB: round(peak.peakRssBytes / MiB), cpuSecondsTotal: round(peak.cpuSeconds) };
    const brokerPeak = brokerSample();
    if (brokerPeak) result.broker = { peakRssMiB: round(brokerPeak.peakRssBytes / MiB), cpuSecondsTotal: round(brokerPeak.cpuSeconds) };
    const p99 = (result.runTaskToRunning as { p99: number }).p99;
    result.targets = {
      registerAllMs: target(Math.round(registerAllMs), TARGETS.registerAllMs),
      idleControlCpuPercent: target(round(idleCpu, 2), TARGETS.idleControlCpuPercent),
      peakControlRssMiB: target(round(peak.peakRssBytes / MiB), TARGETS.peakControlRssMiB),
      idleUplinkKbitPerAgent: target(round((upBytesPerAgentMin * 8) / 1000 / 60, 5), TARGETS.idleUplinkKbitPerAgent),
      runTaskToRunningP99Ms: target(p99, TARGETS.runTaskToRunningP99Ms),
      ...(SERVICE_SCALE > 0 ? { serviceScaleUpAllRunningMs: target((result.serviceScaleUp as { allRunningMs?: number | null })?.allRunningMs ?? NaN, TARGETS.serviceScaleUpAllRunningMs) } : {}),
    };
  } catch (e) {
    result.error = (e as Error).message;
    result.controlLogTail = control.output().slice(-1500);
    result.controlNotableLog = control.notable();
    if (mosquitto) result.brokerLogTail = mosquitto.output().slice(-1500);
    process.exitCode = 1;
  } finally {
    if (control.notable().length) result.controlNotableLog = control.notable().slice(0, 10);
    await workers.stop();
    await control.stop();
    await mosquitto?.stop();
    if (!TRACE) rmSync(traceFile, { force: true });
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
