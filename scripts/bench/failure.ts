/**
 * Failure handling benchmark (issue 8): a real agent process running tasks on the real Docker
 * engine is killed with SIGKILL; the time until the control service's API shows
 * agentConnected:false is measured (polled every 10 ms). The same for an agent that is frozen
 * (SIGSTOP: its TCP connection stays open, as in a network partition), where only the MQTT
 * keepalive can notice: the broker gives up 1.5 × the agent's --keepalive-seconds (--keepalive-seconds
 * here, passed to every agent it starts) after the last packet. Then the service case: an agent running a REPLICA service's tasks is
 * killed with SIGKILL while a second agent stands by; measured until the instance is
 * disconnected, until the replacements are placed on the second agent, and until they are all
 * RUNNING there. The service's disconnectGracePeriodSeconds (--grace-seconds) is part of that
 * time by design, so the time beyond it is reported too. Prints one JSON object.
 *
 *   bun scripts/bench/failure.ts [--repeats 3] [--tasks 3] [--frozen-repeats 1]
 *                                [--service-repeats 3] [--service-tasks 3] [--grace-seconds 1]
 *                                [--keepalive-seconds 10]
 */
import { startBenchAgent, until } from "./lib/agent-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess, type ControlProcess } from "./lib/control-process.ts";
import { imageExists, removeWithLabel } from "./lib/docker-api.ts";
import { summary } from "./lib/percentiles.ts";
import { round } from "./lib/proc-stats.ts";

const args = benchArgs();
const REPEATS = args.num("repeats", 3);
const FROZEN_REPEATS = args.num("frozen-repeats", 1);
const TASKS = args.num("tasks", 3);
const SERVICE_REPEATS = args.num("service-repeats", 3);
const SERVICE_TASKS = args.num("service-tasks", 3);
const GRACE_SECONDS = args.num("grace-seconds", 1);
const KEEPALIVE_SECONDS = args.num("keepalive-seconds", 10);
if (!Number.isInteger(KEEPALIVE_SECONDS) || KEEPALIVE_SECONDS < 1 || KEEPALIVE_SECONDS > 65535) {
  throw new Error(`--keepalive-seconds must be a whole number from 1 to 65535, got ${KEEPALIVE_SECONDS}`);
}
/** Flags of every agent this benchmark starts. */
const AGENT_ARGS = ["--task-cleanup-wait", "3600", "--keepalive-seconds", String(KEEPALIVE_SECONDS)];
const IMAGE = "flotilla/busybox:test";
const TARGET_MS = 5000;
const log = (line: string) => process.stderr.write(`[failure] ${line}\n`);

async function oneRun(control: ControlProcess, n: number, taskDefinition: string, how: "SIGKILL" | "SIGSTOP"): Promise<number> {
  const cluster = `failure-${how.toLowerCase()}-${n}`;
  const activation = await prepareCluster(control, cluster, 1);
  const agent = startBenchAgent({ control: control.mqttUrl, activation, args: AGENT_ARGS });
  let instanceId = "";
  try {
    instanceId = await until("the agent to connect", async () => {
      const r = await control.api("GET", `/v1/clusters/${cluster}/container-instances`);
      return (r.body.containerInstances as any[])?.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    });
    const r = await control.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition, count: TASKS });
    if ((r.body.tasks?.length ?? 0) < TASKS) throw new Error(`RunTask failed: ${JSON.stringify(r.body)}`);
    await until(`${TASKS} tasks RUNNING`, async () => {
      const t = await control.api("GET", `/v1/clusters/${cluster}/tasks`);
      return (t.body.tasks as any[]).filter((x) => x.lastStatus === "RUNNING").length >= TASKS;
    }, 60_000, 100);
    const t0 = performance.now();
    agent.proc.kill(how);
    await until("agentConnected:false", async () => {
      const i = await control.api("GET", `/v1/clusters/${cluster}/container-instances/${instanceId}`);
      return i.body.containerInstance?.agentConnected === false;
    }, 60_000, 10);
    const ms = performance.now() - t0;
    log(`${how}: disconnected after ${Math.round(ms)} ms`);
    return ms;
  } finally {
    agent.proc.kill("SIGKILL");
    await agent.stop();
    if (instanceId) await removeWithLabel(`flotilla.instance-id=${instanceId}`);
  }
}

interface ServiceRun {
  disconnectedMs: number;
  replacementsPlacedMs: number;
  replacementsRunningMs: number;
}

/**
 * kill -9 of an agent running every task of a REPLICA service, with a second (idle) agent in the
 * cluster: times from the kill until agentConnected:false, until the replacements exist on the
 * second agent, and until all of them are RUNNING there (one 10 ms polling loop for all three).
 */
async function serviceRun(control: ControlProcess, n: number, taskDefinition: string): Promise<ServiceRun> {
  const cluster = `failure-service-${n}`;
  const activation = await prepareCluster(control, cluster, 2);
  const instances = () => control.api("GET", `/v1/clusters/${cluster}/container-instances`).then((r) => r.body.containerInstances as any[]);
  const start = async (known: Set<string>) => {
    const agent = startBenchAgent({ control: control.mqttUrl, activation, args: AGENT_ARGS });
    const id = await until("the agent to connect", async () => (await instances()).find((i) => i.agentConnected && !known.has(i.containerInstanceId))?.containerInstanceId as string | undefined);
    return { agent, id };
  };
  const started: { agent: ReturnType<typeof startBenchAgent>; id: string }[] = [];
  try {
    // The victim alone first, so that every task of the service runs on it.
    const victim = await start(new Set());
    started.push(victim);
    const svc = await control.api("POST", `/v1/clusters/${cluster}/services`, {
      serviceName: "web",
      taskDefinition,
      desiredCount: SERVICE_TASKS,
      disconnectGracePeriodSeconds: GRACE_SECONDS,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
    });
    if (svc.status !== 201) throw new Error(`CreateService failed: ${JSON.stringify(svc.body)}`);
    const serviceTasks = async () => ((await control.api("GET", `/v1/clusters/${cluster}/tasks`)).body.tasks as any[]).filter((t) => t.group === "service:web");
    await until(`${SERVICE_TASKS} service tasks RUNNING on the first agent`, async () => {
      const ts = await serviceTasks();
      return ts.filter((t) => t.lastStatus === "RUNNING" && t.containerInstanceId === victim.id).length === SERVICE_TASKS;
    }, 60_000, 100);
    const standby = await start(new Set([victim.id]));
    started.push(standby);

    const t0 = performance.now();
    victim.agent.proc.kill("SIGKILL");
    let disconnectedMs: number | undefined;
    let placedMs: number | undefined;
    const runningMs = await until("the replacements RUNNING on the second agent", async () => {
      const [vi, ts] = await Promise.all([control.api("GET", `/v1/clusters/${cluster}/container-instances/${victim.id}`), serviceTasks()]);
      const now = performance.now() - t0;
      if (disconnectedMs === undefined && vi.body.containerInstance?.agentConnected === false) disconnectedMs = now;
      const there = ts.filter((t) => t.containerInstanceId === standby.id);
      if (placedMs === undefined && there.length >= SERVICE_TASKS) placedMs = now;
      return there.filter((t) => t.lastStatus === "RUNNING").length >= SERVICE_TASKS ? now : undefined;
    }, 120_000, 10);
    const run = { disconnectedMs: disconnectedMs ?? runningMs, replacementsPlacedMs: placedMs ?? runningMs, replacementsRunningMs: runningMs };
    log(`service: disconnected after ${Math.round(run.disconnectedMs)} ms, replacements placed after ${Math.round(run.replacementsPlacedMs)} ms, RUNNING after ${Math.round(runningMs)} ms (grace ${GRACE_SECONDS} s)`);
    return run;
  } finally {
    for (const s of started) {
      s.agent.proc.kill("SIGKILL");
      await s.agent.stop();
      await removeWithLabel(`flotilla.instance-id=${s.id}`);
    }
  }
}

async function main() {
  const result: Record<string, unknown> = {
    benchmark: "failure",
    config: {
      repeats: REPEATS,
      frozenRepeats: FROZEN_REPEATS,
      tasksOnTheAgent: TASKS,
      agentKeepaliveSeconds: KEEPALIVE_SECONDS,
      /** When the broker gives up on a silent client: 1.5 × its keepalive (aedes and Mosquitto alike). */
      brokerGivesUpAfterMs: KEEPALIVE_SECONDS * 1500,
      serviceRepeats: SERVICE_REPEATS,
      serviceTasks: SERVICE_TASKS,
      disconnectGracePeriodSeconds: GRACE_SECONDS,
    },
  };
  if (!(await imageExists(IMAGE))) {
    console.log(JSON.stringify({ ...result, error: `image ${IMAGE} is missing: run scripts/build-test-image first` }));
    process.exit(1);
  }
  const control = await startControlProcess();
  try {
    const taskDefinition = await registerTaskDefinition(control, {
      family: "failure",
      containerDefinitions: [{ name: "web", image: IMAGE, memory: 16, cpu: 8, essential: true, stopTimeout: 2 }],
    });
    const killed: number[] = [];
    for (let i = 0; i < REPEATS; i++) killed.push(await oneRun(control, i, taskDefinition, "SIGKILL"));
    const frozen: number[] = [];
    for (let i = 0; i < FROZEN_REPEATS; i++) frozen.push(await oneRun(control, i, taskDefinition, "SIGSTOP"));
    const k = summary(killed);
    result.kill9ToDisconnectedMs = k;
    result.frozenToDisconnectedMs = summary(frozen);
    const services: ServiceRun[] = [];
    for (let i = 0; i < SERVICE_REPEATS; i++) services.push(await serviceRun(control, i, taskDefinition));
    if (services.length) {
      // The grace counts from when the scheduler saw the instance disconnected, so what the
      // control adds is the time from the disconnect plus the grace to the replacements running.
      const beyond = (ms: (r: ServiceRun) => number) => summary(services.map((r) => ms(r) - r.disconnectedMs - GRACE_SECONDS * 1000));
      result.serviceKill9 = {
        disconnectedMs: summary(services.map((r) => r.disconnectedMs)),
        replacementsPlacedMs: summary(services.map((r) => r.replacementsPlacedMs)),
        replacementsRunningMs: summary(services.map((r) => r.replacementsRunningMs)),
        graceSeconds: GRACE_SECONDS,
        placedBeyondGraceMs: beyond((r) => r.replacementsPlacedMs),
        runningBeyondGraceMs: beyond((r) => r.replacementsRunningMs),
      };
    }
    result.targets = { kill9ToDisconnectedMs: target(k.max, TARGET_MS), ...(frozen.length ? { frozenToDisconnectedMs: target(round(Math.max(...frozen)), TARGET_MS) } : {}) };
  } catch (e) {
    result.error = (e as Error).message;
    process.exitCode = 1;
  } finally {
    await control.stop();
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
