import { seededRng } from "../../../control/placement/seeded-rng.ts";
import type { PlacementConstraint, PlacementStrategy } from "../../../control/placement/types.ts";

/**
 * The workload both placement benchmarks share (engine alone, and through the libSQL commit):
 * command-line sizes, instance shapes and attributes, and the RunTask templates, so the two
 * measure the same thing and differ only in what stands behind placeTasks.
 */

export const PLACEMENT_TARGETS = { placementsPerSecond: 10_000, runTaskOf10P99Ms: 20, peakRssMiB: 512 };

export function placementBenchArgs(argv = process.argv) {
  const args = new Map<string, string>();
  for (let i = 2; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ""), argv[i + 1] ?? "");
  const instances = Number(args.get("instances") ?? 10_000);
  return {
    instances,
    placements: Number(args.get("placements") ?? 100_000),
    seed: Number(args.get("seed") ?? 42),
    /** Live tasks kept at most; the default fills about 30% of the cluster's memory at the mean task size. */
    maxLive: Number(args.get("max-live") ?? instances * 5),
    /** RunTask callers in flight at once (the commit-path benchmark only). */
    concurrency: Math.max(1, Number(args.get("concurrency") ?? 8)),
  };
}

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

export interface Template {
  name: string;
  strategies: PlacementStrategy[];
  constraints: PlacementConstraint[];
  cpuArchitecture?: "X86_64" | "ARM64";
}

export const TEMPLATES: Template[] = [
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

/** Seeded draws for one benchmark run. */
export function placementWorkload(seed: number) {
  const rng = seededRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  return {
    rng,
    pick,
    /** Instance n: a varied fleet of x86 boxes and Raspberry Pi-like arm64 hosts. */
    instanceShape(n: number) {
      const arm = rng() < 0.25;
      const shape = pick(arm ? ARM_TYPES : X86_TYPES);
      const attributes: Record<string, string> = {
        "ecs.os-type": "linux",
        "ecs.cpu-architecture": arm ? "arm64" : "x86_64",
        "ecs.instance-id": `i-${n.toString(16).padStart(17, "0")}`,
        "ecs.instance-type": shape.type,
        "ecs.availability-zone": pick(ZONES),
        hostname: `host-${n}`,
        rack: `rack-${n % 40}`,
        ...(rng() < 0.3 ? { gpu: "none", tier: pick(["gold", "silver"]) } : {}),
      };
      const registeredAt = Date.UTC(2025, 0, 1) + Math.floor(rng() * 540) * 86_400_000;
      return { cpu: shape.cpu, memory: shape.memory, attributes, registeredAt };
    },
  };
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The measured part both placement benchmarks print: per-call latency percentiles, peak RSS and
 * each target's verdict. peakRssBytes is combined with the process's maxRSS (the whole run,
 * including moments between samples).
 */
export function placementResults(r: { placementsPerSecond: number; callMs: number[]; callOf10Ms: number[]; peakRssBytes: number }) {
  const sorted = Float64Array.from(r.callMs).sort();
  const sorted10 = Float64Array.from(r.callOf10Ms).sort();
  const placementsPerSecond = round(r.placementsPerSecond, 0);
  const runTaskOf10P99Ms = round(percentile(sorted10, 99));
  // maxRSS is in KiB on Linux.
  const peakRssMiB = round(Math.max(r.peakRssBytes, process.resourceUsage().maxRSS * 1024) / 1024 / 1024, 1);
  return {
    placementsPerSecond,
    runTaskP50Ms: round(percentile(sorted, 50)),
    runTaskP99Ms: round(percentile(sorted, 99)),
    runTaskOf10P50Ms: round(percentile(sorted10, 50)),
    runTaskOf10P99Ms,
    peakRssMiB,
    targets: PLACEMENT_TARGETS,
    met: {
      placementsPerSecond: placementsPerSecond >= PLACEMENT_TARGETS.placementsPerSecond,
      runTaskOf10P99Ms: runTaskOf10P99Ms < PLACEMENT_TARGETS.runTaskOf10P99Ms,
      peakRssMiB: peakRssMiB < PLACEMENT_TARGETS.peakRssMiB,
    },
  };
}
