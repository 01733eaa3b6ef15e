/**
 * Runs the benchmarks (each prints one JSON object) and writes each one's section of the generated
 * docs/benchmark-results.md (lib/report-format.ts): the latest run of each, replaced, never
 * appended to. docs/benchmarks.md, written by hand, says what the figures mean and links there.
 * Driven by scripts/bench/all; sizes come from the environment (moderate by default):
 *
 *   BENCH_ONLY=fleet,api            run only these (names below: fleet, fleet-mosquitto, dynsec-provisioning, docker-run,
 *                                   agent-footprint, failure, api, services, placement, placement-commit, failover,
 *                                   agent-binaries, agent-logs, container-stats, metrics-scrape, deployment-windows, console,
 *                                   request-log, exec, events-stream, discovery)
 *   BENCH_FLEET_MQ_AGENTS=5000      fleet size over Mosquitto (registration grows with its square there)
 *   BENCH_FLEET_AGENTS=10000 BENCH_FLEET_TASKS=300 BENCH_FLEET_BURST=1000 BENCH_FLEET_IDLE_SECONDS=60
 *   BENCH_DOCKER_TASKS=30  BENCH_API_CLIENTS=100 BENCH_API_SECONDS=10  BENCH_FAILURE_REPEATS=3 BENCH_FAILURE_KEEPALIVE=10
 *   BENCH_CONSOLE_HOSTS=1000 BENCH_CONSOLE_TASKS=10000 BENCH_CONSOLE_PAGES=50  BENCH_DISCOVERY_REPEATS=5
 *   BENCH_AGENT_BINARY=PATH         compiled agent to measure (default: the one in dist/)
 *   BENCH_REUSE_DIR=DIR             take DIR/NAME.json (an earlier run's output) instead of running NAME
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { dockerVersion } from "./docker-api.ts";
import { section, writeSection } from "./report-format.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const RESULTS = join(ROOT, "docs", "benchmark-results.md");
const env = process.env;

interface Bench {
  name: string;
  /** scripts/bench/<script>.ts when it is not the section's name. */
  script?: string;
  title: string;
  args: string[];
  /** What is measured, in a sentence or two; the why of the figures is in docs/benchmarks.md. */
  what: string;
}

const FLEET_WHAT =
  "Real agent code (createAgent, MqttAgentLink, activation registration) on the in-memory hollow runtime, several agents per worker process, against a separate `bun control/main.ts` on a libSQL file; control CPU/RSS from /proc of the control process (and of the broker, with Mosquitto); MQTT bytes from the agent sockets over the idle window; RunTask → RUNNING from the POST until a GET shows RUNNING, the first RunTask (placement index load) apart; runTaskTrace splits each task's time by hop (lib/latency-breakdown.ts).";

const benches: Bench[] = [
  {
    name: "fleet",
    title: "Fleet scale with hollow agents, embedded broker",
    args: ["--agents", env.BENCH_FLEET_AGENTS ?? "2000", "--tasks", env.BENCH_FLEET_TASKS ?? "300", "--burst", env.BENCH_FLEET_BURST ?? "1000", "--idle-seconds", env.BENCH_FLEET_IDLE_SECONDS ?? "30"],
    what: FLEET_WHAT,
  },
  {
    name: "fleet-mosquitto",
    script: "fleet",
    title: "Fleet scale with hollow agents over Mosquitto",
    args: ["--broker", "mosquitto", "--agents", env.BENCH_FLEET_MQ_AGENTS ?? "2000", "--tasks", env.BENCH_FLEET_TASKS ?? "300", "--burst", env.BENCH_FLEET_BURST ?? "1000", "--idle-seconds", env.BENCH_FLEET_IDLE_SECONDS ?? "30"],
    what: `${FLEET_WHAT} Here through Debian's Mosquitto 2.0.11 (dynamic security) in the control's external-broker mode.`,
  },
  {
    name: "dynsec-provisioning",
    title: "Mosquitto dynamic security: one registration's cost by fleet size",
    args: ["--sizes", env.BENCH_DYNSEC_SIZES ?? "0,2500,5000,10000"],
    what: "Mosquitto 2.0.11 started on a dynamic-security config already holding N instances; more are provisioned through ExternalBroker.instanceRegistered and timed, with the broker's CPU.",
  },
  {
    name: "docker-run",
    title: "Real Docker: RunTask → container running vs `docker run -d`",
    args: ["--tasks", env.BENCH_DOCKER_TASKS ?? "30"],
    what: "A real control process and agent process on the Docker engine; each round runs one task and one `docker run -d` of the same image, alternating which goes first.",
  },
  {
    name: "agent-footprint",
    title: "Agent footprint",
    args: env.BENCH_AGENT_BINARY ? ["--binary", env.BENCH_AGENT_BINARY] : [],
    what: "Idle RSS (anonymous and file-backed) and CPU of a real agent process with 0 and 20 running tasks, compiled (built fresh) and from source, and the RSS of each layer of the agent's stack (layersMiB).",
  },
  {
    name: "failure",
    title: "Failure handling",
    args: ["--repeats", env.BENCH_FAILURE_REPEATS ?? "3", "--keepalive-seconds", env.BENCH_FAILURE_KEEPALIVE ?? "10"],
    what: "A real agent process is killed (SIGKILL) or frozen (SIGSTOP: only the MQTT keepalive notices); time until the API shows agentConnected:false. serviceKill9: a REPLICA service's agent is killed with a second agent standing by; time until the replacements are placed and RUNNING.",
  },
  {
    name: "discovery",
    title: "Service discovery: a task stopping → gone from every host's DNS answers",
    args: ["--repeats", env.BENCH_DISCOVERY_REPEATS ?? "5"],
    what: "A real control process and 3 real agents (each with its own DNS responder) on the Docker engine, a service with one task per agent; a task's container killed, or StopTask; time until the task has left every host's SRV answers (polled every 5 ms).",
  },
  {
    name: "api",
    title: "API throughput",
    args: ["--clients", env.BENCH_API_CLIENTS ?? "100", "--seconds", env.BENCH_API_SECONDS ?? "10"],
    what: "Concurrent Bun fetch clients (keep-alive) against a separate control process whose cluster holds 50 hollow agents: GET task lists, then POST RunTask.",
  },
  {
    name: "services",
    title: "Services on one host with real Docker",
    args: [],
    what: "A service of 10 → RUNNING; scale 10 → 50 against 40 `docker run -d` (8 at a time) in the same run; a rolling update of 50 at 90/110; a container removed with `docker rm -f` → replacement RUNNING.",
  },
  {
    name: "placement",
    title: "Placement engine",
    args: [],
    what: "10,000 instances in a ClusterIndex, 100,000 placements in RunTask-sized calls with mixed strategies and memberOf constraints, each reserved in the index (no database).",
  },
  {
    name: "placement-commit",
    title: "Placement through the real commit path",
    args: [],
    what: "The placement workload through startTasks on a libSQL file (commit worker, checkpoints), from concurrent callers, with stops applied as STOPPED reports apply them.",
  },
  {
    name: "failover",
    title: "Control-plane failover",
    args: [],
    what: "Three `bun control/main.ts --ha` processes on one libSQL file and one Mosquitto; the leader is killed with SIGKILL each round; time until another holds the lease and has started its leader duties.",
  },
  {
    name: "agent-binaries",
    title: "Agent binaries",
    args: [],
    what: "scripts/build-agent's x64 and arm64 agents and CLIs: size, start → connected and idle RSS (arm64 under qemu-user-static, an upper bound).",
  },
  {
    name: "agent-logs",
    title: "Log streaming",
    args: ["--mib", env.BENCH_LOGS_MIB ?? "20"],
    what: "A task container writes N MiB of log lines; time for the logs API to deliver all of it from a real agent over the embedded broker, and for a tail of 10.",
  },
  {
    name: "container-stats",
    title: "Container stats",
    args: ["--hosts", env.BENCH_STATS_HOSTS ?? "10000", "--containers", "20"],
    what: "The agent's stats sampler over 20 hollow containers (cpu per sample, bytes per sample on the wire); the control's parse and apply of one stats message per host for N hosts × 5 tasks (cpu per 30 s round, heap, snapshot).",
  },
  {
    name: "metrics-scrape",
    title: "Metrics scrape",
    args: ["--hosts", env.BENCH_METRICS_HOSTS ?? "10000", "--tasks", env.BENCH_METRICS_TASKS ?? "50000"],
    what: "The control's /metrics (its own registry, fleet gauges from the database, process metrics) over HTTP from the token-less listener, GET to last byte, with N hosts inserted and M tasks placed through startTasks (4 in 5 RUNNING); the first scrape apart.",
  },
  {
    name: "deployment-windows",
    title: "Deployment windows",
    args: ["--instances", env.BENCH_WINDOWS_HOSTS ?? "10000", "--windows", "20", "--rounds", "20"],
    what: "loadWindowGate on a real libSQL file (the cluster's windows and live overrides) and every host's window state, as a DAEMON round reads it; 20 attribute-filtered windows in four time zones plus one whole-cluster window.",
  },
  {
    name: "console",
    title: "Web console",
    args: ["--hosts", env.BENCH_CONSOLE_HOSTS ?? "1000", "--tasks", env.BENCH_CONSOLE_TASKS ?? "10000", "--pages", env.BENCH_CONSOLE_PAGES ?? "50"],
    what: "Hollow agents filled with a service and standalone tasks; the hosts page and a service page read through a console session (request to last byte), then one change (a host drained or activated) reaching N open pages (SSE streams that re-read their page, as console.js does).",
  },
  {
    name: "request-log",
    title: "Request log lines",
    args: ["--requests", env.BENCH_REQUEST_LOG_REQUESTS ?? "20000", "--rounds", "5"],
    what: "In-process API requests (GET /healthz, GET of a cluster over a libSQL file) with the logger at info (a JSON line per request, synchronously to /dev/null) and at silent, alternating rounds; medians of microseconds per request.",
  },
  {
    name: "exec",
    title: "Exec round trip",
    args: ["--runs", env.BENCH_EXEC_RUNS ?? "50"],
    what: "`hostname` in a task container through ExecuteCommand, the session's WebSocket, the control's MQTT link and a real agent process's Docker exec; POST → exit code, one session at a time.",
  },
  {
    name: "events-stream",
    title: "Event stream",
    args: ["--rate", env.BENCH_EVENTS_RATE ?? "1000", "--seconds", env.BENCH_EVENTS_SECONDS ?? "10", "--subscribers", env.BENCH_EVENTS_SUBSCRIBERS ?? "20"],
    what: "N subscribers on GET /v1/events (server-sent events, in their own process) while task state changes are applied through applyReports (hollow instances' full reports, a container's health flipping); every subscriber's ids checked against the log; lag from the event's time to its arrival, per second of the run; drain after the last change.",
  },
];

async function machineFacts(): Promise<string> {
  const docker = await dockerVersion().catch(() => "unavailable");
  const model = cpus()[0]?.model ?? "unknown";
  const load = loadavg()[0]!.toFixed(1);
  return `Machine: ${cpus().length} CPUs (${model}), ${Math.round(totalmem() / 1024 ** 3)} GiB RAM, Linux ${release()}, Bun ${Bun.version}, Docker ${docker}; ${new Date().toISOString().slice(0, 10)}, load average ${load} at the start.`;
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

const only = env.BENCH_ONLY?.split(",").map((s) => s.trim());
const facts = await machineFacts();
for (const b of benches) {
  if (only && !only.includes(b.name)) continue;
  const result = await run(b);
  console.log(JSON.stringify(result));
  // Re-read and rewrite per section: other benchmarks may write their own sections meanwhile.
  const command = `bun scripts/bench/${b.script ?? b.name}.ts ${b.args.join(" ")}`.trim();
  writeSection(RESULTS, b.name, section({ name: b.name, title: b.title, command, facts, what: b.what, result }));
}
