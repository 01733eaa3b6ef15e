/**
 * Agent footprint benchmark (issue 8): idle RSS and CPU of a real agent process — from source
 * (`bun agent/main.ts`) and compiled (built fresh by scripts/build/compile.ts, as scripts/build-agent
 * does, unless --binary names one) — with 0 and --tasks running tasks on the real Docker engine.
 * RSS is split into anonymous memory (the agent's own heap and allocations) and file-backed pages
 * (Bun's code and read-only data mapped from the executable), with the part of each the idle agent
 * actually touched in the last --working-set-seconds (/proc/PID/clear_refs, then Referenced).
 *
 * Where the memory goes, two ways:
 * - layersMiB: compiled programs built with the agent's build settings, each adding one piece of
 *   the agent's stack to the previous one and doing what the agent does with it (bare Bun; an
 *   MQTT connection; Bun's node:http client on the Docker socket once a second, as docker-modem
 *   uses it; dockerode relisting and following events; zod with our message and task-definition
 *   schemas; hono serving HTTP). The compiled agent's idle RSS minus the last layer is our code.
 * - importRssMiB: `bun -e` importing one module alone from source, after a full GC.
 * Prints one JSON object.
 *
 *   bun scripts/bench/agent-footprint.ts [--tasks 20] [--settle-seconds 10] [--sample-seconds 30]
 *     [--working-set-seconds 20] [--binary PATH] [--compare-jit] [--skip-source] [--skip-layers]
 *
 * --compare-jit also measures the agent built with the normal JIT policy, and with the JIT off.
 */
import { Aedes } from "aedes";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_JIT_POLICY, compileBinary, ENTRY } from "../build/compile.ts";
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
const WORKING_SET_S = args.num("working-set-seconds", 20);
const IMAGE = "flotilla/busybox:test";
const TARGET_RSS_MIB = 48;
const log = (line: string) => process.stderr.write(`[footprint] ${line}\n`);
const work = mkdtempSync(join(tmpdir(), "flotilla-footprint-"));

/** Resident memory of a process from /proc/PID/status, MiB: total, anonymous, file-backed. */
function residentMiB(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") };
}

const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length);

/** Samples RSS over the window (mean and max, anon/file split) and CPU % of one core. */
async function sampleWindow(pid: number, seconds = SAMPLE_S) {
  const first = sampleProcess(pid);
  const samples: ReturnType<typeof residentMiB>[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    samples.push(residentMiB(pid));
    await Bun.sleep(500);
  }
  const last = sampleProcess(pid);
  return {
    rssMiB: mean(samples.map((s) => s.rss)),
    rssMaxMiB: round(Math.max(...samples.map((s) => s.rss))),
    anonMiB: mean(samples.map((s) => s.anon)),
    fileMiB: mean(samples.map((s) => s.file)),
    peakRssMiB: round(last.peakRssBytes / MiB),
    cpuPercentOfOneCore: round(cpuPercent(first, last), 2),
  };
}

/**
 * The pages the process touched in the next `seconds`: clears the referenced bits of its pages,
 * waits, then sums Referenced per kind. The rest of its RSS was touched only earlier (start-up).
 */
async function workingSet(pid: number, seconds = WORKING_SET_S) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "1");
  } catch (e) {
    return { error: `cannot clear referenced bits: ${(e as Error).message}` };
  }
  await Bun.sleep(seconds * 1000);
  let anon = 0;
  let file = 0;
  let isFile = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) isFile = !!head[1] && !head[1].startsWith("[");
    const ref = /^Referenced:\s+(\d+) kB/.exec(line);
    if (ref) isFile ? (file += Number(ref[1])) : (anon += Number(ref[1]));
  }
  return { seconds, anonMiB: round(anon / 1024), fileMiB: round(file / 1024), totalMiB: round((anon + file) / 1024) };
}

/**
 * An activation whose code does not start with "-": the agent's flag parser reads
 * `--activation-code -abc` as a missing value (1 code in 64; reported to the lead).
 */
async function activationFor(control: ControlProcess, cluster: string) {
  let act = await prepareCluster(control, cluster, 1);
  while (act.activationCode.startsWith("-")) {
    act = (await control.api("POST", `/v1/clusters/${cluster}/activations`, { registrationLimit: 1 })).body;
  }
  return act;
}

async function measureAgent(control: ControlProcess, cluster: string, binary: string | undefined, taskDefinition: string, env: Record<string, string> = {}) {
  const kind = binary ? "compiled" : "source";
  const activation = await activationFor(control, cluster);
  // startBenchAgent passes this process's environment on: set the variant's variables around it.
  Object.assign(process.env, env);
  const agent = startBenchAgent({ control: control.mqttUrl, activation, binary, args: ["--task-cleanup-wait", "3600"] });
  for (const k of Object.keys(env)) delete process.env[k];
  let instanceId = "";
  try {
    instanceId = await until(`the ${kind} agent to connect`, async () => {
      const r = await control.api("GET", `/v1/clusters/${cluster}/container-instances`);
      return (r.body.containerInstances as any[])?.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    });
    await Bun.sleep(SETTLE_S * 1000);
    log(`${kind} agent idle with 0 tasks`);
    const idle0 = { ...(await sampleWindow(agent.pid)), workingSet: await workingSet(agent.pid) };
    // One task per RunTask: tasks placed in the same millisecond share the first 12 characters of
    // their ids, which the agent's container names are made of (reported to the lead).
    for (let started = 0; started < TASKS; started++) {
      const r = await control.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition, count: 1 });
      if (!r.body.tasks?.length) throw new Error(`RunTask failed: ${JSON.stringify(r.body)}`);
    }
    await until(`${TASKS} tasks RUNNING`, async () => {
      const r = await control.api("GET", `/v1/clusters/${cluster}/tasks`);
      return (r.body.tasks as any[]).filter((t) => t.lastStatus === "RUNNING").length >= TASKS;
    }, 120_000, 250);
    await Bun.sleep(SETTLE_S * 1000);
    log(`${kind} agent idle with ${TASKS} tasks`);
    const idleN = { ...(await sampleWindow(agent.pid)), workingSet: await workingSet(agent.pid) };
    const command = `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join("")}${binary ? binary.replace(work, "$TMP") : "bun agent/main.ts"}`;
    return { command, idle0Tasks: idle0, [`idle${TASKS}Tasks`]: idleN };
  } catch (e) {
    throw new Error(`${(e as Error).message}; agent output: ${agent.output().slice(-400)}`);
  } finally {
    await agent.stop();
    if (instanceId) await removeWithLabel(`flotilla.instance-id=${instanceId}`);
  }
}

/** The layers of the agent's stack, each program adding one piece to the previous one. */
const LAYERS: { name: string; code: string }[] = [
  { name: "bare Bun (a 1 s timer)", code: `setInterval(() => {}, 1000);` },
  {
    name: "+ mqtt over node:net, connected and subscribed",
    code: `import mqtt from "mqtt";
      const client = mqtt.connect(process.env.LAYER_MQTT_URL, { clientId: "layer-" + process.pid, keepalive: 10, writeCache: false });
      client.on("connect", () => { client.subscribe("layer/#", { qos: 1 }); client.publish("layer/presence", JSON.stringify({ connected: true }), { qos: 1, retain: true }); });`,
  },
  {
    name: "+ node:http to the Docker socket once a second",
    code: `import http from "node:http";
      setInterval(() => http.get({ socketPath: "/var/run/docker.sock", path: "/containers/json?all=1" }, (r) => r.resume()), 1000);`,
  },
  {
    name: "+ dockerode: relist once a second, follow events",
    code: `import Docker from "dockerode";
      const docker = new Docker();
      await docker.info();
      setInterval(() => void docker.listContainers({ all: true, filters: { label: ["flotilla.layer=1"] } }), 1000);
      docker.getEvents({ filters: { type: ["container"] } }, (err, s) => s?.on("data", () => {}));`,
  },
  {
    name: "+ zod and our schemas, parsing a desired state and a task definition",
    code: `import { desiredStateSchema } from "./shared/messages.ts";
      import { parseTaskDefinition } from "./shared/task-definition/index.ts";
      const definition = { family: "layer", containerDefinitions: [{ name: "web", image: "nginx", memory: 16, essential: true, portMappings: [{ containerPort: 80 }] }] };
      desiredStateSchema.parse({ instanceId: "i", clusterName: "c", generation: 1, tasks: [{ taskId: "t", taskArn: "a", family: "layer", revision: 1, taskDefinitionArn: "d", desiredStatus: "RUNNING", definition }] });
      (globalThis as any).parsed = parseTaskDefinition(definition);`,
  },
  {
    name: "+ hono serving HTTP (the introspection API)",
    code: `import { Hono } from "hono";
      const app = new Hono();
      app.get("/v1/metadata", (c) => c.json({ ok: true }));
      Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });`,
  },
];

/** Builds each cumulative layer with the agent's settings, runs it, and samples its idle RSS. */
async function measureLayers() {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const mqttUrl = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const out: { layer: string; rssMiB: number; anonMiB: number; fileMiB: number; addsMiB: number }[] = [];
  try {
    let code = "";
    for (const [i, layer] of LAYERS.entries()) {
      code += `\n${layer.code}`;
      // Hoisted imports come first either way; the entry lives (virtually) at the repo root.
      const entry = join(ROOT, `.footprint-layer-${i}.ts`);
      const binary = join(work, `layer-${i}`);
      await compileBinary({ entry, outfile: binary, agentSettings: true, files: { [entry]: code } });
      const p = Bun.spawn([binary], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, LAYER_MQTT_URL: mqttUrl } });
      try {
        await Bun.sleep(Math.min(SETTLE_S, 8) * 1000);
        if (p.exitCode !== null) throw new Error(`layer ${i} exited ${p.exitCode}: ${await new Response(p.stderr).text()}`);
        const s = await sampleWindow(p.pid, Math.min(SAMPLE_S, 10));
        out.push({ layer: layer.name, rssMiB: s.rssMiB, anonMiB: s.anonMiB, fileMiB: s.fileMiB, addsMiB: round(s.rssMiB - (out.at(-1)?.rssMiB ?? 0)) });
        log(`layer ${i}: ${s.rssMiB} MiB`);
      } finally {
        p.kill();
        await p.exited;
      }
    }
  } finally {
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
  return out;
}

/** RSS of `bun -e` importing one module: how much each dependency costs on its own, from source. */
async function importCost(spec: string): Promise<number> {
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ""} Bun.gc(true); await Bun.sleep(200); console.log(process.memoryUsage().rss);`;
  const p = Bun.spawn(["bun", "-e", code], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return round(Number(out.trim()) / MiB);
}

async function main() {
  const result: Record<string, unknown> = {
    benchmark: "agent-footprint",
    config: { tasks: TASKS, settleSeconds: SETTLE_S, sampleSeconds: SAMPLE_S, workingSetSeconds: WORKING_SET_S, image: IMAGE, jitPolicy: AGENT_JIT_POLICY },
  };
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
    let binary = args.str("binary", "");
    if (!binary) {
      binary = join(work, "flotilla-agent");
      await compileBinary({ entry: ENTRY.agent, outfile: binary, agentSettings: true });
    }
    result.compiled = await measureAgent(control, "footprint-compiled", binary, taskDefinition);
    if (args.flag("compare-jit")) {
      // The JIT policy's cost and benefit: the same build with JavaScriptCore's normal tier-up
      // thresholds, and the shipped build with the JIT switched off entirely (an environment
      // variable JavaScriptCore reads at start; a compiled binary cannot embed it).
      const normal = join(work, "flotilla-agent-jit1");
      await compileBinary({ entry: ENTRY.agent, outfile: normal, agentSettings: true, jitPolicy: 1 });
      result.compiledNormalJit = await measureAgent(control, "footprint-compiled-jit1", normal, taskDefinition);
      result.compiledJitOff = await measureAgent(control, "footprint-compiled-nojit", binary, taskDefinition, { BUN_JSC_useJIT: "0" });
    }
    if (!args.flag("skip-source")) result.source = await measureAgent(control, "footprint-source", undefined, taskDefinition);
    if (!args.flag("skip-layers")) {
      const layers = await measureLayers();
      const agentRss = (result.compiled as { idle0Tasks: { rssMiB: number } }).idle0Tasks.rssMiB;
      result.layersMiB = [...layers, { layer: "+ our agent code: the compiled agent, idle, 0 tasks", rssMiB: agentRss, addsMiB: round(agentRss - (layers.at(-1)?.rssMiB ?? 0)) }];
    }
    const modules = ["", "zod", "mqtt", "docker-modem", "dockerode", "hono", "./shared/messages.ts", "./shared/task-definition/index.ts", "./agent/runtime/docker.ts", "./agent/link/mqtt-link.ts", "./agent/agent.ts"];
    const costs: Record<string, number> = {};
    for (const m of modules) costs[m || "(bare bun)"] = await importCost(m);
    result.importRssMiB = costs;
    result.targets = { compiledIdleRssMiB: target((result.compiled as { idle0Tasks: { rssMiB: number } }).idle0Tasks.rssMiB, TARGET_RSS_MIB) };
  } catch (e) {
    result.error = (e as Error).message;
    process.exitCode = 1;
  } finally {
    await control.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
