/**
 * Container stats cost benchmark (issue 16): what sampling each running container's cpu and memory
 * adds, on both sides of the link.
 *
 * - Agent: the real StatsSampler (agent/engine/stats-sampler.ts) over --containers running
 *   containers, one task each, on the hollow runtime (readings shaped as Docker gives them), or with
 *   --docker on the real engine (busybox containers, one `stream=false` stats call each): the
 *   agent's CPU per sample (process.cpuUsage over --rounds samples) and the bytes each sample adds
 *   to the uplink (JSON payload, MQTT PUBLISH framing at QoS 0, one TCP/IP header set), per host
 *   and per container, at --interval-seconds.
 * - Control: what the control's link does with each message (parse with statsMessageSchema, apply to
 *   the in-memory ContainerStatsStore) for --hosts hosts of --tasks tasks each, --rounds rounds; CPU
 *   per round, as a share of one core at the interval; the store's heap; a snapshot() for /metrics.
 *   The broker's routing of the messages is not in it (a QoS 0 publish of ~300 bytes, like any other).
 *
 * Prints one JSON object.
 *
 *   bun scripts/bench/container-stats.ts [--containers 20] [--hosts 10000] [--tasks 5] [--rounds 5]
 *                                        [--interval-seconds 30] [--docker]
 */
import { randomBytes } from "node:crypto";
import { StatsSampler } from "../../agent/engine/stats-sampler.ts";
import { DockerRuntime } from "../../agent/runtime/docker.ts";
import { HollowRuntime } from "../../agent/runtime/hollow.ts";
import type { ContainerRuntime, ContainerSpec } from "../../agent/runtime/types.ts";
import type { ReadonlyAgentTask } from "../../agent/store/state-file.ts";
import { ContainerStatsStore } from "../../control/container-stats.ts";
import { decodeMessage, statsMessageSchema, type StatsMessage } from "../../shared/messages.ts";
import { topics } from "../../shared/topics.ts";
import { benchArgs, target } from "./lib/args.ts";
import { imageExists, removeWithLabel } from "./lib/docker-api.ts";
import { kbitPerSecond, mqttPublishBytes, TCP_IP_HEADER_BYTES } from "./lib/mqtt-bytes.ts";
import { MiB, round } from "./lib/proc-stats.ts";

const args = benchArgs();
const CONTAINERS = args.num("containers", 20);
const HOSTS = args.num("hosts", 10_000);
const TASKS = args.num("tasks", 5);
const ROUNDS = Math.max(1, args.num("rounds", 5));
const INTERVAL_MS = args.num("interval-seconds", 30) * 1000;
const DOCKER = args.flag("docker");
/** The target issue 16 sets: added uplink per host at a 30 s interval. */
const UPLINK_TARGET_KBIT = 0.2;
const BENCH_LABEL = "flotilla.bench";
const IMAGE = "flotilla/busybox:test";

const newId = () => randomBytes(16).toString("hex");
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** Bytes one message adds to a host's uplink. */
const wireBytes = (instanceId: string, m: StatsMessage) => mqttPublishBytes(topics.stats(instanceId), Buffer.byteLength(JSON.stringify(m)), 0) + TCP_IP_HEADER_BYTES;

/** `count` tasks of one running container each, as the engine's snapshot holds them. */
function tasksOver(runtimeIds: string[]): ReadonlyAgentTask[] {
  return runtimeIds.map((runtimeId) => ({ taskId: newId(), knownStatus: "RUNNING", containers: [{ name: "app", knownStatus: "RUNNING", runtimeId }] }) as unknown as ReadonlyAgentTask);
}

const spec = (name: string, image: string, command: string[] | undefined, labels: Record<string, string>): ContainerSpec => ({ name, image, command, labels, networkMode: "bridge", portBindings: [], stopTimeoutSeconds: 2, memoryMiB: 16 });

async function hollowContainers(n: number): Promise<{ runtime: ContainerRuntime; ids: string[] }> {
  // Readings in the size a busy service has (hundreds of CPU units, hundreds of MiB): the longest numbers.
  const runtime = new HollowRuntime({ timings: { pullLatencyMs: 0, createLatencyMs: 0, startLatencyMs: 0, stopLatencyMs: 0, removeLatencyMs: 0 }, cachedImages: ["app"], usage: () => ({ cpuUnits: 100 + Math.random() * 900, memoryBytes: Math.round(1e8 + Math.random() * 9e8) }) });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await runtime.create(spec(`bench-${i}`, "app", undefined, {}));
    await runtime.start(id);
    ids.push(id);
  }
  return { runtime, ids };
}

async function dockerContainers(n: number): Promise<{ runtime: ContainerRuntime; ids: string[] }> {
  if (!(await imageExists(IMAGE))) throw new Error(`--docker needs the image ${IMAGE}`);
  const runtime = new DockerRuntime({});
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await runtime.create(spec(`flotilla-stats-bench-${i}-${newId().slice(0, 6)}`, IMAGE, ["sleep", "3600"], { [BENCH_LABEL]: "container-stats" }));
    await runtime.start(id);
    ids.push(id);
  }
  return { runtime, ids };
}

async function agentSide() {
  const { runtime, ids } = DOCKER ? await dockerContainers(CONTAINERS) : await hollowContainers(CONTAINERS);
  try {
    const tasks = tasksOver(ids);
    const instanceId = newId();
    const sent: StatsMessage[] = [];
    const sampler = new StatsSampler({ runtime, tasks: () => tasks, send: (m) => (sent.push(m), true), intervalMs: INTERVAL_MS });
    await sampler.sampleAndSend(); // warm-up (JIT, first Docker connection)
    sent.length = 0;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let i = 0; i < ROUNDS; i++) await sampler.sampleAndSend();
    const cpuPerSampleMs = cpuMs(process.cpuUsage(cpu0)) / ROUNDS;
    const wallPerSampleMs = (performance.now() - wall0) / ROUNDS;
    const bytes = sent.map((m) => wireBytes(instanceId, m));
    const perSample = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    const containersSampled = Object.values(sent.at(-1)?.tasks ?? {}).reduce((n, c) => n + Object.keys(c).length, 0);
    return {
      runtime: DOCKER ? "docker" : "hollow",
      containers: CONTAINERS,
      containersSampled,
      cpuPerSampleMs: round(cpuPerSampleMs, 2),
      cpuPercentAtInterval: round((cpuPerSampleMs / INTERVAL_MS) * 100, 4),
      wallPerSampleMs: round(wallPerSampleMs, 1),
      payloadBytesPerSample: Buffer.byteLength(JSON.stringify(sent.at(-1))),
      wireBytesPerSample: round(perSample, 0),
      wireBytesPerContainer: round(perSample / Math.max(1, containersSampled), 1),
      uplinkKbitPerHost: round(kbitPerSecond(perSample, INTERVAL_MS), 3),
    };
  } finally {
    if (DOCKER) await removeWithLabel(BENCH_LABEL);
  }
}

/** One host's message of `TASKS` tasks with fresh readings, as JSON bytes (what the link receives). */
function hostPayload(taskIds: string[], at: number): Buffer {
  const m: StatsMessage = { at, tasks: {} };
  for (const id of taskIds) m.tasks[id] = { app: [round(100 + Math.random() * 900, 1), Math.round(1e8 + Math.random() * 9e8)] };
  return Buffer.from(JSON.stringify(m));
}

function controlSide() {
  const hosts = Array.from({ length: HOSTS }, () => ({ instanceId: newId(), taskIds: Array.from({ length: TASKS }, newId) }));
  const heap0 = process.memoryUsage().heapUsed;
  const store = new ContainerStatsStore();
  let cpuTotalMs = 0;
  let maxRoundMs = 0;
  let dropped = 0;
  let uplinkBytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // Payloads are built outside the measured part: they are the agents' work.
    const payloads = hosts.map((h) => hostPayload(h.taskIds, Date.now()));
    if (r === 0) uplinkBytes = payloads.reduce((a, p, i) => a + mqttPublishBytes(topics.stats(hosts[i]!.instanceId), p.length, 0) + TCP_IP_HEADER_BYTES, 0) / HOSTS;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < HOSTS; i++) {
      const m = decodeMessage(statsMessageSchema, payloads[i]!);
      if (!m) dropped++;
      else store.apply(hosts[i]!.instanceId, m);
    }
    const ms = cpuMs(process.cpuUsage(cpu0));
    cpuTotalMs += ms;
    maxRoundMs = Math.max(maxRoundMs, ms);
  }
  Bun.gc(true);
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / MiB;
  const snap0 = performance.now();
  const entries = store.snapshot().length;
  const snapshotMs = performance.now() - snap0;
  const perRoundMs = cpuTotalMs / ROUNDS;
  return {
    hosts: HOSTS,
    tasksPerHost: TASKS,
    rounds: ROUNDS,
    dropped,
    cpuPerRoundMs: round(perRoundMs, 1),
    cpuPerMessageUs: round((perRoundMs * 1000) / HOSTS, 1),
    maxRoundMs: round(maxRoundMs, 1),
    cpuPercentOfOneCoreAtInterval: round((perRoundMs / INTERVAL_MS) * 100, 3),
    storeHeapMiB: round(heapMiB, 1),
    snapshotEntries: entries,
    snapshotMs: round(snapshotMs, 1),
    uplinkKbitPerHost: round(kbitPerSecond(uplinkBytes, INTERVAL_MS), 3),
  };
}

const agent = await agentSide();
const control = controlSide();
console.log(
  JSON.stringify(
    {
      benchmark: "container-stats",
      config: { containers: CONTAINERS, hosts: HOSTS, tasksPerHost: TASKS, rounds: ROUNDS, intervalSeconds: INTERVAL_MS / 1000, runtime: agent.runtime },
      agent,
      control,
      targets: { uplinkKbitPerHostAt5Tasks: target(control.uplinkKbitPerHost, UPLINK_TARGET_KBIT) },
    },
    null,
    2,
  ),
);
