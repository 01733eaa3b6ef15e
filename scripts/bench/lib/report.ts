/**
 * Runs the issue-8 benchmarks (each prints one JSON object) and writes their sections of
 * docs/benchmarks.md between `<!-- bench:NAME -->` markers, keeping every other section as it is.
 * Driven by scripts/bench/all; sizes come from the environment (moderate by default):
 *
 *   BENCH_ONLY=fleet,api            run only these (fleet, fleet-mosquitto, dynsec-provisioning, docker-run, agent-footprint, failure, api)
 *   BENCH_FLEET_MQ_AGENTS=5000      fleet size over Mosquitto (registration grows with its square there)
 *   BENCH_FLEET_AGENTS=10000 BENCH_FLEET_TASKS=300 BENCH_FLEET_BURST=1000 BENCH_FLEET_IDLE_SECONDS=60
 *   BENCH_DOCKER_TASKS=30  BENCH_API_CLIENTS=100 BENCH_API_SECONDS=10  BENCH_FAILURE_REPEATS=3 BENCH_FAILURE_KEEPALIVE=10
 *   BENCH_AGENT_BINARY=PATH         compiled agent to measure (default: the one in dist/)
 *   BENCH_REUSE_DIR=DIR             take DIR/NAME.json (an earlier run's output) instead of running NAME
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { dockerVersion } from "./docker-api.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const DOC = join(ROOT, "docs", "benchmarks.md");
const env = process.env;

interface Bench {
  name: string;
  /** scripts/bench/<script>.ts when it is not the section's name. */
  script?: string;
  title: string;
  args: string[];
  notes: string;
}

const FLEET_NOTES =
  "Real agent code (createAgent, MqttAgentLink, activation registration, memory state) with the in-memory HollowRuntime (create 15 ms, start 40 ms), several agents per worker process, against a separate `bun control/main.ts` and a libSQL file. Control CPU/RSS are read from /proc of the control process only (with Mosquitto, the broker's process is reported apart); MQTT bytes are the agent sockets' bytesWritten/bytesRead over the idle window (agent keepalive 10 s and a full-state resync every 5 minutes, as the real agent). RunTask → RUNNING is the time from the POST until a GET of the task shows lastStatus RUNNING (polled every 5 ms, 10 in flight); the first RunTask after start, which loads the cluster's placement index, is timed apart (firstRunTaskMs). runTaskTrace splits each task's time by timestamps taken in the control (desired set queued/built/published, report received/applied), the agents (desired set received, RUNNING reported) and the benchmark (lib/latency-breakdown.ts), with event-loop stalls over 20 ms of the control and of the agent worker processes. serviceScaleUp: a service created with desiredCount 0 is updated to K; each task's time from that call to the control recording it RUNNING. The simulator shares the 2 cores with the control service.";

const benches: Bench[] = [
  {
    name: "fleet",
    title: "Fleet scale with hollow agents (issue 8)",
    args: ["--agents", env.BENCH_FLEET_AGENTS ?? "2000", "--tasks", env.BENCH_FLEET_TASKS ?? "300", "--burst", env.BENCH_FLEET_BURST ?? "1000", "--idle-seconds", env.BENCH_FLEET_IDLE_SECONDS ?? "30"],
    notes:
      FLEET_NOTES +
      "\n\nFound with the trace (session 2): the RunTask p99 tail at 10,000 agents (567–747 ms) was the first RunTask after start loading the placement index (all instances: a 190–280 ms event-loop stall the ~10 RunTasks in flight all waited behind; now timed apart as firstRunTaskMs). A service scale-up 0 → 500 took 100.5 s because desired sets went out one instance at a time (a serialized read and an awaited broker ack each, ~40/s under load; now up to 256 per read, published together), every scheduler round read all 10,000 instance rows (130–190 ms each, a round every ~50 ms while reports arrive; now only the instances its services' tasks are on), and reports were applied one by one with three statements each (now in bursts, control/link/report-batcher.ts)." +
      "\n\nFound with this benchmark: aedes' memory persistence matched every retained message against each new subscription, and every agent keeps a retained presence flag and subscribes to its own exact desired topic, so bringing up a fleet cost O(fleet²) topic matches (already 15 % of the control's CPU at 2,000 agents, growing with the square); control/broker/retained-index.ts serves exact-topic lookups from a map (with 20,000 retained messages: 6.1 ms per agent subscription before, 61 s of control CPU for 10,000 subscriptions; 0.03 ms after). The registration client id is derived from the activation (`reg-{activationId}`), so concurrent registrations with one activation take over each other's MQTT session and lose replies (stalls of 30 s, the reply timeout); the fleet uses one activation per registration slot.",
  },
  {
    name: "fleet-mosquitto",
    script: "fleet",
    title: "Fleet scale over Mosquitto (issue 8)",
    args: ["--broker", "mosquitto", "--agents", env.BENCH_FLEET_MQ_AGENTS ?? "2000", "--tasks", env.BENCH_FLEET_TASKS ?? "300", "--burst", env.BENCH_FLEET_BURST ?? "1000", "--idle-seconds", env.BENCH_FLEET_IDLE_SECONDS ?? "30"],
    notes:
      FLEET_NOTES +
      " Here the agents and the control use Debian's Mosquitto 2.0.11 (dynamic-security plugin, `set_tcp_nodelay true`) in the control's external-broker mode; every activation and instance gets its own Mosquitto client and role. Registration is bound by the plugin, which rewrites its whole configuration file after every change (see the dynsec-provisioning section).",
  },
  {
    name: "dynsec-provisioning",
    title: "Mosquitto dynamic security: cost of one registration by fleet size (issue 8)",
    args: ["--sizes", env.BENCH_DYNSEC_SIZES ?? "0,2500,5000,10000"],
    notes:
      "Debian's Mosquitto 2.0.11 started on a dynamic-security config already holding N instances (client + role, shaped as control/broker/external.ts makes them); then instances are provisioned through ExternalBroker.instanceRegistered and timed, with the broker's CPU. The plugin serialises and rewrites its whole JSON config after every createRole/createClient, so a registration costs broker CPU in proportion to the fleet, and registering a whole fleet grows with its square.",
  },
  {
    name: "docker-run",
    title: "Real Docker: RunTask → container running vs `docker run -d` (issue 8)",
    args: ["--tasks", env.BENCH_DOCKER_TASKS ?? "30"],
    notes:
      "A real control process and a real agent process (`bun agent/main.ts`, prefer-cached pulls) on the Docker engine; \"running\" = the engine lists the container as running (Docker API polled every 2 ms). Each round runs one task and one `docker run -d` of the same image (the CLI's wall time), alternating which goes first.",
  },
  {
    name: "agent-footprint",
    title: "Agent footprint (issue 8)",
    args: env.BENCH_AGENT_BINARY ? ["--binary", env.BENCH_AGENT_BINARY] : [],
    notes:
      "Idle RSS (mean over the sample window) and CPU of a real agent process with 0 and 20 running tasks, from source and (when dist/ has one) the compiled binary. The compiled agent is built by scripts/build/compile.ts with scripts/build/agent-stubs.ts, which leaves out what the agent never reaches (dockerode's BuildKit session: grpc-js, proto-loader, protobufjs; docker-modem's ssh:// transport: ssh2; mqtt's WebSocket and other browser transports; readable-stream mapped to node:stream) behind stubs that throw one readable error, and with a JIT policy that keeps cold code in the interpreter; both agents run with mqtt's writeCache off (mqtt-packet would pre-build 65,536 Buffers). Where the compiled agent's memory goes (cumulative, measured 2026-11-22): bare Bun 25 MiB, + an mqtt connection over node:net 41.7, + node:http to the Docker socket 43.8, + dockerode 46.7, + zod and our schemas 50.2, + hono 50.7, the agent 52.6 (session 3); about 30 MiB of that is Bun's own code paged in at start and not touched while idle."
  },
  {
    name: "failure",
    title: "Failure handling (issue 8)",
    args: ["--repeats", env.BENCH_FAILURE_REPEATS ?? "3", "--keepalive-seconds", env.BENCH_FAILURE_KEEPALIVE ?? "10"],
    notes:
      "A real agent process running tasks on Docker is killed with SIGKILL (the kernel closes its socket, the broker publishes its last will), or frozen with SIGSTOP (socket stays open, as in a network partition: only the MQTT keepalive notices: 1.5 × the agent's --keepalive-seconds, 10 s unless BENCH_FAILURE_KEEPALIVE says otherwise; docs/operations.md weighs a shorter one). Time until the API shows agentConnected:false, polled every 10 ms.\n\nService failover (`serviceKill9`): a REPLICA service runs on one real agent, a second agent stands by in the cluster; the first is killed with SIGKILL. Measured from the kill, polling every 10 ms: until the instance shows agentConnected:false, until the replacements are placed on the second agent, and until all are RUNNING there. The service's `disconnectGracePeriodSeconds` (--grace-seconds) is waited on purpose before replacing, so the control's own share is reported as the time beyond disconnect + grace."
  },
  {
    name: "api",
    title: "API throughput (issue 8)",
    args: ["--clients", env.BENCH_API_CLIENTS ?? "100", "--seconds", env.BENCH_API_SECONDS ?? "10"],
    notes:
      "100 concurrent Bun fetch clients (keep-alive) against a separate control process; the cluster has 50 hollow agents so RunTask places tasks. GET lists every RUNNING-desired task of the cluster (its size grows with the seeded tasks).",
  },
];

async function machineFacts(): Promise<string> {
  const docker = await dockerVersion().catch(() => "unavailable");
  const model = cpus()[0]?.model ?? "unknown";
  return `Machine: ${cpus().length} CPUs (${model}), ${Math.round(totalmem() / 1024 ** 3)} GiB RAM, Bun ${Bun.version}, Docker ${docker}, ${new Date().toISOString().slice(0, 10)}.`;
}

async function run(b: Bench): Promise<unknown> {
  const reuse = env.BENCH_REUSE_DIR && join(env.BENCH_REUSE_DIR, `${b.name}.json`);
  if (reuse && existsSync(reuse)) return JSON.parse(readFileSync(reuse, "utf8"));
  process.stderr.write(`[bench] running ${b.name} ${b.args.join(" ")}\n`);
  const p = Bun.spawn(["bun", join(import.meta.dir, "..", `${b.script ?? b.name}.ts`), ...b.args], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  try {
    return JSON.parse(out);
  } catch {
    return { benchmark: b.name, error: `no JSON output (exit ${p.exitCode})`, output: out.slice(-1000) };
  }
}

function targetsTable(result: any): string {
  const t = result?.targets as Record<string, { value: number; target: number; kind: string; met: boolean; ratio: number }> | undefined;
  if (!t) return result?.error ? `**Error:** ${result.error}\n` : "";
  const rows = Object.entries(t).map(([k, v]) => {
    const verdict = v.met ? "met" : v.value === null || Number.isNaN(v.value) ? "not measured" : `**missed** (${v.ratio}× the ${v.kind === "max" ? "limit" : "minimum"})`;
    return `| ${k} | ${v.value} | ${v.kind === "max" ? "≤" : "≥"} ${v.target} | ${verdict} |`;
  });
  return ["| measure | result | target | verdict |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}

function section(b: Bench, result: unknown, facts: string): string {
  const cmd = `bun scripts/bench/${b.script ?? b.name}.ts ${b.args.join(" ")}`.trim();
  return [
    `<!-- bench:${b.name} -->`,
    `## ${b.title}`,
    "",
    `Command: \`${cmd}\` (or \`scripts/bench/all\`). ${facts}`,
    "",
    b.notes,
    "",
    targetsTable(result),
    "<details><summary>Full JSON</summary>",
    "",
    "```json",
    JSON.stringify(result, null, 2),
    "```",
    "</details>",
    `<!-- /bench:${b.name} -->`,
  ].join("\n");
}

function writeSection(name: string, text: string): void {
  let doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Benchmarks\n\nEach section is written by the benchmark it names; numbers are from this 2-core machine.\n";
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + text + doc.slice(j + end.length);
  else doc = `${doc.trimEnd()}\n\n${text}\n`;
  writeFileSync(DOC, doc);
}

const only = env.BENCH_ONLY?.split(",").map((s) => s.trim());
const facts = await machineFacts();
for (const b of benches) {
  if (only && !only.includes(b.name)) continue;
  const result = await run(b);
  console.log(JSON.stringify(result));
  // Re-read and rewrite per section: other benchmarks may write their own sections meanwhile.
  writeSection(b.name, section(b, result, facts));
}
