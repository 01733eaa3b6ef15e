/**
 * Placement benchmark (issue 4): 10,000 container instances with varied attributes and resources in a
 * ClusterIndex, then 100,000 task placements in RunTask-sized calls (count 1..10) with mixed
 * strategies and memberOf constraints. Each call runs placeTasks and then index.reserve for every
 * placement, standing in for the commit; live tasks are released now and then so the cluster stays
 * busy but not full. Prints one JSON object.
 *
 *   bun scripts/bench/placement.ts [--instances N] [--placements N] [--seed N] [--max-live N]
 */
import { ClusterIndex } from "../../control/placement/cluster-index.ts";
import { placeTasks } from "../../control/placement/engine.ts";
import { seededRng } from "../../control/placement/seeded-rng.ts";
import type { InstanceView, PlacementConstraint, PlacementStrategy, Reservation } from "../../control/placement/types.ts";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const INSTANCES = Number(args.get("instances") ?? 10_000);
const PLACEMENTS = Number(args.get("placements") ?? 100_000);
const SEED = Number(args.get("seed") ?? 42);
/** Live tasks kept at most; the default fills about 30% of the cluster's memory at the mean task size. */
const MAX_LIVE_TASKS = Number(args.get("max-live") ?? INSTANCES * 5);

const TARGETS = { placementsPerSecond: 10_000, runTaskOf10P99Ms: 20, peakRssMiB: 512 };

const rng = seededRng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

const ZONES = ["zone-a", "zone-b", "zone-c"];
const X86_TYPES = [
  { type: "t3.small", cpu: 2048, memory: 2048 },
  { type: "t3.medium", cpu: 2048, memory: 4096 },
  { type: "t3.large", cpu: 2048, memory: 8192 },
  { type: "m5.xlarge", cpu: 4096, memory: 16384 },
  { type: "c5.2xlarge", cpu: 8192, memory: 16384 },
];
const ARM_TYPES = [
  { type: "rpi4", cpu: 4096, memory: 4096 },
  { type: "rpi5", cpu: 4096, memory: 8192 },
  { type: "c6g.large", cpu: 2048, memory: 4096 },
];

function makeInstance(n: number): InstanceView {
  const arm = rng() < 0.25;
  const shape = pick(arm ? ARM_TYPES : X86_TYPES);
  const id = `ci-${n.toString(16).padStart(8, "0")}`;
  // A few instances are draining, disconnected or impaired, as in a real fleet.
  const roll = rng();
  return {
    id,
    arn: `arn:flotilla:ecs:local:000000000000:container-instance/bench/${id}`,
    status: roll < 0.02 ? "DRAINING" : "ACTIVE",
    agentConnected: !(roll >= 0.02 && roll < 0.03),
    healthStatus: roll >= 0.03 && roll < 0.04 ? "IMPAIRED" : "OK",
    registeredAt: Date.UTC(2025, 0, 1) + Math.floor(rng() * 540) * 86_400_000,
    version: 1,
    registered: { cpu: shape.cpu, memory: shape.memory },
    remaining: { cpu: shape.cpu, memory: shape.memory },
    usedPorts: { tcp: new Set(), udp: new Set() },
    attributes: {
      "ecs.os-type": "linux",
      "ecs.cpu-architecture": arm ? "arm64" : "x86_64",
      "ecs.instance-id": `i-${n.toString(16).padStart(17, "0")}`,
      "ecs.instance-type": shape.type,
      "ecs.availability-zone": pick(ZONES),
      hostname: `host-${n}`,
      rack: `rack-${n % 40}`,
      ...(rng() < 0.3 ? { gpu: "none", tier: pick(["gold", "silver"]) } : {}),
    },
    runningTasksCount: 0,
    groups: new Map(),
  };
}

interface Template {
  name: string;
  strategies: PlacementStrategy[];
  constraints: PlacementConstraint[];
  cpuArchitecture?: "X86_64" | "ARM64";
}

const TEMPLATES: Template[] = [
  { name: "default", strategies: [], constraints: [] },
  {
    name: "spread-zone-then-instance",
    strategies: [
      { type: "spread", field: "attribute:ecs.availability-zone" },
      { type: "spread", field: "instanceId" },
    ],
    constraints: [],
  },
  { name: "binpack-memory", strategies: [{ type: "binpack", field: "memory" }], constraints: [] },
  { name: "random", strategies: [{ type: "random" }], constraints: [] },
  {
    name: "zones-ab-spread-host",
    strategies: [{ type: "spread", field: "host" }],
    constraints: [{ type: "memberOf", expression: "attribute:ecs.availability-zone in [zone-a, zone-b]" }],
  },
  {
    name: "t3-binpack-cpu",
    strategies: [{ type: "binpack", field: "cpu" }],
    constraints: [{ type: "memberOf", expression: "attribute:ecs.instance-type =~ 't3\\..*' and runningTasksCount < 30" }],
  },
  {
    name: "arm-distinct",
    strategies: [{ type: "spread", field: "attribute:rack" }],
    constraints: [{ type: "distinctInstance" }, { type: "memberOf", expression: "not(attribute:ecs.instance-type == rpi4) and registeredAt >= 2025-03-01" }],
    cpuArchitecture: "ARM64",
  },
  {
    name: "x86-away-from-db",
    strategies: [{ type: "spread", field: "attribute:ecs.availability-zone" }, { type: "binpack", field: "memory" }],
    constraints: [{ type: "memberOf", expression: "task:group != service:db-0 and attribute:ecs.os-type == linux" }],
    cpuArchitecture: "X86_64",
  },
];

function makeReservation(): Reservation {
  const roll = rng();
  return {
    cpu: pick([64, 128, 256, 256, 512]),
    memory: pick([64, 128, 256, 512, 512, 1024]),
    tcpPorts: roll < 0.05 ? [pick([8080, 8443, 9000])] : [],
    udpPorts: roll >= 0.05 && roll < 0.08 ? [pick([53, 5353])] : [],
  };
}

interface LiveTask {
  instanceId: string;
  reservation: Reservation;
  group: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

let peakRss = process.memoryUsage().rss;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

const index = new ClusterIndex();
for (let n = 0; n < INSTANCES; n++) index.upsert(makeInstance(n));
sampleRss();

const live: LiveTask[] = [];
const callMs: number[] = [];
const callOf10Ms: number[] = [];
let placed = 0;
let failedTasks = 0;
let calls = 0;
const perTemplate: Record<string, number> = {};
const placeRng = seededRng(SEED + 1);

const started = performance.now();
while (placed < PLACEMENTS) {
  const template = pick(TEMPLATES);
  const count = Math.min(PLACEMENTS - placed, 1 + Math.floor(rng() * 10));
  const group = template.name.startsWith("x86") || rng() < 0.5 ? `service:${template.name}-${Math.floor(rng() * 50)}` : `family:app-${Math.floor(rng() * 500)}`;
  const reservation = makeReservation();
  const request = {
    count,
    reservation,
    group,
    constraints: template.constraints,
    strategies: template.strategies,
    requiredAttributes: [],
    ...(template.cpuArchitecture ? { cpuArchitecture: template.cpuArchitecture } : {}),
  };

  const t0 = performance.now();
  const result = placeTasks(index, request, { rng: placeRng });
  for (const p of result.placements) index.reserve(p.instanceId, reservation, group);
  const ms = performance.now() - t0;

  callMs.push(ms);
  if (count === 10) callOf10Ms.push(ms);
  calls++;
  // Failed tasks still count as work done by the engine; stop once enough placements were asked for.
  placed += result.placements.length + result.failures.length;
  failedTasks += result.failures.length;
  perTemplate[template.name] = (perTemplate[template.name] ?? 0) + result.placements.length;
  for (const p of result.placements) live.push({ instanceId: p.instanceId, reservation, group });

  while (live.length > MAX_LIVE_TASKS) {
    const at = Math.floor(rng() * live.length);
    const task = live[at]!;
    live[at] = live[live.length - 1]!;
    live.pop();
    index.release(task.instanceId, task.reservation, task.group);
  }
  if (calls % 1000 === 0) sampleRss();
}
const seconds = (performance.now() - started) / 1000;
sampleRss();
// maxRSS is in KiB on Linux and covers the whole run, including moments between samples.
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);

const sorted = Float64Array.from(callMs).sort();
const sorted10 = Float64Array.from(callOf10Ms).sort();
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const placementsPerSecond = round(placed / seconds, 0);
const runTaskOf10P99Ms = round(percentile(sorted10, 99));
const peakRssMiB = round(peakRss / 1024 / 1024, 1);

console.log(
  JSON.stringify({
    instances: INSTANCES,
    placements: placed,
    placedTasks: placed - failedTasks,
    failedTasks,
    runTaskCalls: calls,
    liveTasksAtEnd: live.length,
    seconds: round(seconds),
    placementsPerSecond,
    runTaskP50Ms: round(percentile(sorted, 50)),
    runTaskP99Ms: round(percentile(sorted, 99)),
    runTaskOf10P50Ms: round(percentile(sorted10, 50)),
    runTaskOf10P99Ms,
    peakRssMiB,
    placedByTemplate: perTemplate,
    targets: TARGETS,
    met: {
      placementsPerSecond: placementsPerSecond >= TARGETS.placementsPerSecond,
      runTaskOf10P99Ms: runTaskOf10P99Ms < TARGETS.runTaskOf10P99Ms,
      peakRssMiB: peakRssMiB < TARGETS.peakRssMiB,
    },
  }),
);
