/**
 * Real Docker benchmark (issue 8): RunTask → container running, through a real control process and a
 * real agent process, against `docker run -d` of the same image measured in the same run
 * (interleaved, so both see the same engine load). "Running" is when the engine lists the
 * container as running (polled over the Docker socket every few ms); the control service's own
 * RUNNING is reported too. Prints one JSON object.
 *
 *   bun scripts/bench/docker-run.ts [--tasks 30] [--image flotilla/busybox:test]
 */
import { startBenchAgent, until } from "./lib/agent-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess } from "./lib/control-process.ts";
import { imageExists, removeWithLabel, runningWithLabel } from "./lib/docker-api.ts";
import { summary } from "./lib/percentiles.ts";
import { round } from "./lib/proc-stats.ts";

const args = benchArgs();
const TASKS = args.num("tasks", 30);
const IMAGE = args.str("image", "flotilla/busybox:test");
const CLUSTER = "docker-bench";
const BASELINE_LABEL = "flotilla.bench=docker-run-baseline";
const TARGET_RATIO = 1.15;
const log = (line: string) => process.stderr.write(`[docker-run] ${line}\n`);

async function dockerRunD(i: number): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(["docker", "run", "-d", "--label", BASELINE_LABEL, "--name", `flotilla-bench-baseline-${process.pid}-${i}`, IMAGE], { stdout: "pipe", stderr: "pipe" });
  const code = await p.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`docker run -d failed: ${await new Response(p.stderr).text()}`);
  return ms;
}

async function main() {
  if (!(await imageExists(IMAGE))) {
    console.log(JSON.stringify({ benchmark: "docker-run", error: `image ${IMAGE} is missing: run scripts/build-test-image first` }));
    process.exit(1);
  }
  const control = await startControlProcess();
  let agent: ReturnType<typeof startBenchAgent> | undefined;
  let instanceId = "";
  const result: Record<string, unknown> = { benchmark: "docker-run", config: { tasks: TASKS, image: IMAGE, imagePullBehavior: "prefer-cached" } };
  try {
    const activation = await prepareCluster(control, CLUSTER, 1);
    agent = startBenchAgent({ control: control.mqttUrl, activation, args: ["--task-cleanup-wait", "3600"] });
    instanceId = await until("the agent to register and connect", async () => {
      const r = await control.api("GET", `/v1/clusters/${CLUSTER}/container-instances`);
      return (r.body.containerInstances as any[]).find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    });
    const taskDefinition = await registerTaskDefinition(control, {
      family: "docker-bench",
      containerDefinitions: [{ name: "web", image: IMAGE, memory: 32, essential: true, stopTimeout: 2 }],
    });

    const toContainer: number[] = [];
    const toApiRunning: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < TASKS; i++) {
      // Interleaved: one of each per round, alternating which goes first.
      const ours = async () => {
        const t0 = performance.now();
        const r = await control.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition, count: 1 });
        const taskId = r.body.tasks?.[0]?.taskId as string | undefined;
        if (!taskId) throw new Error(`RunTask failed: ${JSON.stringify(r.body)}`);
        await until("the container to run", async () => (await runningWithLabel(`flotilla.task-id=${taskId}`)).length > 0, 30_000, 2);
        toContainer.push(performance.now() - t0);
        await until("RUNNING in the API", async () => (await control.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task?.lastStatus === "RUNNING", 30_000, 2);
        toApiRunning.push(performance.now() - t0);
      };
      const theirs = async () => baseline.push(await dockerRunD(i));
      if (i % 2 === 0) {
        await ours();
        await theirs();
      } else {
        await theirs();
        await ours();
      }
    }
    const o = summary(toContainer);
    const b = summary(baseline);
    result.runTaskToContainerRunningMs = o;
    result.runTaskToApiRunningMs = summary(toApiRunning);
    result.dockerRunDMs = b;
    result.ratio = { p50: round(o.p50 / b.p50, 2), p99: round(o.p99 / b.p99, 2) };
    result.targets = { p50Ratio: target(round(o.p50 / b.p50, 2), TARGET_RATIO), p99Ratio: target(round(o.p99 / b.p99, 2), TARGET_RATIO) };
    log(`RunTask → container running p50 ${o.p50} ms vs docker run -d p50 ${b.p50} ms`);
  } catch (e) {
    result.error = (e as Error).message;
    result.agentLogTail = agent?.output().slice(-1500);
    process.exitCode = 1;
  } finally {
    await agent?.stop();
    await control.stop();
    if (instanceId) await removeWithLabel(`flotilla.instance-id=${instanceId}`);
    await removeWithLabel(BASELINE_LABEL);
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
