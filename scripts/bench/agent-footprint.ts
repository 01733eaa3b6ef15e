/**
 * Agent footprint benchmark (issue 8): idle RSS and CPU of a real agent process (from source, and
 * the compiled binary from dist/ when scripts/build-agent has made one) with 0 and 20 running tasks
 * on the real Docker engine, plus where the memory goes: the RSS of a bare Bun process importing
 * each of the agent's dependencies alone. Prints one JSON object.
 *
 *   bun scripts/bench/agent-footprint.ts [--tasks 20] [--settle-seconds 10] [--sample-seconds 30] [--binary PATH]
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startBenchAgent, until } from "./lib/agent-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess, type ControlProcess } from "./lib/control-process.ts";
import { imageExists, removeWithLabel } from "./lib/docker-api.ts";
import { cpuPercent, MiB, round, sampleProcess } from "./lib/proc-stats.ts";

const ROOT = join(import.meta.dir, "..", "..");
const args = benchArgs();
const TASKS = args.num("tasks", 20);
const SETTLE_S = args.num("settle-seconds", 10);
const SAMPLE_S = args.num("sample-seconds", 30);
const IMAGE = "flotilla/busybox:test";
const TARGET_RSS_MIB = 48;
const log = (line: string) => process.stderr.write(`[footprint] ${line}\n`);

function findBinary(): string | undefined {
  const explicit = args.str("binary", "");
  if (explicit) return explicit;
  const dist = join(ROOT, "dist");
  if (!existsSync(dist)) return undefined;
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const candidates = readdirSync(dist).filter((f) => f.startsWith("flotilla-agent") && !f.endsWith(".sha256") && !f.endsWith(".txt"));
  const pick = candidates.find((f) => f.includes(arch) && !f.includes("musl")) ?? candidates[0];
  return pick ? join(dist, pick) : undefined;
}

/** Samples RSS over the window (mean and max) and CPU % of one core. */
async function sampleWindow(pid: number) {
  const first = sampleProcess(pid);
  const rss: number[] = [];
  const end = performance.now() + SAMPLE_S * 1000;
  while (performance.now() < end) {
    rss.push(sampleProcess(pid).rssBytes);
    await Bun.sleep(500);
  }
  const last = sampleProcess(pid);
  return {
    rssMiB: round(rss.reduce((a, b) => a + b, 0) / rss.length / MiB),
    rssMaxMiB: round(Math.max(...rss) / MiB),
    peakRssMiB: round(last.peakRssBytes / MiB),
    cpuPercentOfOneCore: round(cpuPercent(first, last), 2),
  };
}

async function measureAgent(control: ControlProcess, cluster: string, binary: string | undefined, taskDefinition: string) {
  const activation = await prepareCluster(control, cluster, 1);
  const agent = startBenchAgent({ control: control.mqttUrl, activation, binary, args: ["--task-cleanup-wait", "3600"] });
  let instanceId = "";
  try {
    instanceId = await until(`the ${binary ? "compiled" : "source"} agent to connect`, async () => {
      const r = await control.api("GET", `/v1/clusters/${cluster}/container-instances`);
      return (r.body.containerInstances as any[])?.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    });
    await Bun.sleep(SETTLE_S * 1000);
    log(`${binary ? "compiled" : "source"} agent idle with 0 tasks`);
    const idle0 = await sampleWindow(agent.pid);
    for (let started = 0; started < TASKS; started += 10) {
      const r = await control.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition, count: Math.min(10, TASKS - started) });
      if (!r.body.tasks?.length) throw new Error(`RunTask failed: ${JSON.stringify(r.body)}`);
    }
    await until(`${TASKS} tasks RUNNING`, async () => {
      const r = await control.api("GET", `/v1/clusters/${cluster}/tasks`);
      return (r.body.tasks as any[]).filter((t) => t.lastStatus === "RUNNING").length >= TASKS;
    }, 120_000, 250);
    await Bun.sleep(SETTLE_S * 1000);
    log(`${binary ? "compiled" : "source"} agent idle with ${TASKS} tasks`);
    const idleN = await sampleWindow(agent.pid);
    return { command: binary ?? "bun agent/main.ts", idle0Tasks: idle0, [`idle${TASKS}Tasks`]: idleN };
  } catch (e) {
    throw new Error(`${(e as Error).message}; agent output: ${agent.output().slice(-400)}`);
  } finally {
    await agent.stop();
    if (instanceId) await removeWithLabel(`flotilla.instance-id=${instanceId}`);
  }
}

/** RSS of `bun -e` importing one module: how much each dependency costs on its own. */
async function importCost(spec: string): Promise<number> {
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ""} Bun.gc(true); await Bun.sleep(200); console.log(process.memoryUsage().rss);`;
  const p = Bun.spawn(["bun", "-e", code], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return round(Number(out.trim()) / MiB);
}

async function main() {
  const result: Record<string, unknown> = { benchmark: "agent-footprint", config: { tasks: TASKS, settleSeconds: SETTLE_S, sampleSeconds: SAMPLE_S, image: IMAGE } };
  if (!(await imageExists(IMAGE))) {
    console.log(JSON.stringify({ ...result, error: `image ${IMAGE} is missing: run scripts/build-test-image first` }));
    process.exit(1);
  }
  const control = await startControlProcess();
  try {
    const taskDefinition = await registerTaskDefinition(control, {
      family: "footprint",
      containerDefinitions: [{ name: "web", image: IMAGE, memory: 16, cpu: 8, essential: true, stopTimeout: 2 }],
    });
    result.source = await measureAgent(control, "footprint-source", undefined, taskDefinition);
    const binary = findBinary();
    result.compiled = binary ? await measureAgent(control, "footprint-compiled", binary, taskDefinition) : "no compiled agent in dist/ (scripts/build-agent makes one)";
    const modules = ["", "zod", "mqtt", "docker-modem", "dockerode", "./agent/runtime/docker.ts", "./agent/link/mqtt-link.ts", "./agent/engine/task-engine.ts", "./agent/agent.ts"];
    const costs: Record<string, number> = {};
    for (const m of modules) costs[m || "(bare bun)"] = await importCost(m);
    result.importRssMiB = costs;
    const compiled = result.compiled as { idle0Tasks?: { rssMiB: number } } | string;
    const src = (result.source as { idle0Tasks: { rssMiB: number } }).idle0Tasks.rssMiB;
    result.targets = {
      sourceIdleRssMiB: target(src, TARGET_RSS_MIB),
      ...(typeof compiled === "object" && compiled.idle0Tasks ? { compiledIdleRssMiB: target(compiled.idle0Tasks.rssMiB, TARGET_RSS_MIB) } : {}),
    };
  } catch (e) {
    result.error = (e as Error).message;
    process.exitCode = 1;
  } finally {
    await control.stop();
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
