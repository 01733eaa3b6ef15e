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
import type { InstanceView, Reservation } from "../../control/placement/types.ts";
import { placementResults, TEMPLATES, placementBenchArgs, placementWorkload, type Template } from "./lib/placement-workload.ts";

const { instances: INSTANCES, placements: PLACEMENTS, seed: SEED, maxLive: MAX_LIVE_TASKS } = placementBenchArgs();
const { rng, pick, instanceShape } = placementWorkload(SEED);

function makeInstance(n: number): InstanceView {
  const shape = instanceShape(n);
  const id = `ci-${n.toString(16).padStart(8, "0")}`;
  // A few instances are draining, disconnected or impaired, as in a real fleet.
  const roll = rng();
  return {
    id,
    arn: `arn:flotilla:ecs:local:000000000000:container-instance/bench/${id}`,
    status: roll < 0.02 ? "DRAINING" : "ACTIVE",
    agentConnected: !(roll >= 0.02 && roll < 0.03),
    healthStatus: roll >= 0.03 && roll < 0.04 ? "IMPAIRED" : "OK",
    registeredAt: shape.registeredAt,
    version: 1,
    registered: { cpu: shape.cpu, memory: shape.memory },
    remaining: { cpu: shape.cpu, memory: shape.memory },
    usedPorts: { tcp: new Set(), udp: new Set() },
    gpus: { ids: [], used: new Set() },
    attributes: shape.attributes,
    runningTasksCount: 0,
    groups: new Map(),
  };
}

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
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

console.log(
  JSON.stringify({
    instances: INSTANCES,
    placements: placed,
    placedTasks: placed - failedTasks,
    failedTasks,
    runTaskCalls: calls,
    liveTasksAtEnd: live.length,
    seconds: round(seconds),
    placedByTemplate: perTemplate,
    ...placementResults({ placementsPerSecond: placed / seconds, callMs, callOf10Ms, peakRssBytes: peakRss }),
  }),
);
