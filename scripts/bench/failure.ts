/**
 * Failure handling benchmark (issue 8): a real agent process running tasks on the real Docker
 * engine is killed with SIGKILL; the time until the control service's API shows
 * agentConnected:false is measured (polled every 10 ms). The same for an agent that is frozen
 * (SIGSTOP: its TCP connection stays open, as in a network partition), where only the MQTT
 * keepalive can notice. Prints one JSON object.
 *
 *   bun scripts/bench/failure.ts [--repeats 3] [--tasks 3] [--frozen-repeats 1]
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
const IMAGE = "flotilla/busybox:test";
const TARGET_MS = 5000;
const log = (line: string) => process.stderr.write(`[failure] ${line}\n`);

async function oneRun(control: ControlProcess, n: number, taskDefinition: string, how: "SIGKILL" | "SIGSTOP"): Promise<number> {
  const cluster = `failure-${how.toLowerCase()}-${n}`;
  const activation = await prepareCluster(control, cluster, 1);
  const agent = startBenchAgent({ control: control.mqttUrl, activation, args: ["--task-cleanup-wait", "3600"] });
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

async function main() {
  const result: Record<string, unknown> = { benchmark: "failure", config: { repeats: REPEATS, frozenRepeats: FROZEN_REPEATS, tasksOnTheAgent: TASKS, agentKeepaliveSeconds: 10 } };
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
    result.replacementsRunning = "not measured here (RunTask tasks are not replaced); service replacement is left for a services-based run";
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
