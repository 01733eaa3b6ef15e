import type { ContainerStatsStore, ContainerUsageHistory, UsageSample } from "../container-stats.ts";
import type { TaskRow } from "../db/rows.ts";

/**
 * Container stats as GET task and GET service show them, in the names of ECS's Container Insights
 * metrics: `cpuUtilized` in CPU units (1024 = one CPU), `memoryUtilized` in MiB, and
 * `cpuUtilization`/`memoryUtilization` as a percentage of the task's reserved cpu and memory (what
 * ECS service auto scaling tracks as ECSServiceAverageCPUUtilization/MemoryUtilization).
 * `…Average` is over the readings kept (the last few sampling intervals).
 */
export interface UsageView {
  cpuUtilized?: number;
  memoryUtilized: number;
  cpuUtilizedAverage?: number;
  memoryUtilizedAverage: number;
  cpuUtilization?: number;
  memoryUtilization?: number;
  sampledAt: string;
  /** Readings the averages are over. */
  samples: number;
}

export interface ServiceUsageView extends Omit<UsageView, "samples"> {
  /** Running tasks with readings: the sums are over these, the averages per task. */
  tasksSampled: number;
  /** Sums over the sampled tasks. */
  cpuUtilizedTotal?: number;
  memoryUtilizedTotal: number;
}

const MiB = 1024 * 1024;
const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

interface Usage {
  cpu: number | null;
  memoryBytes: number;
  cpuAverage: number | null;
  memoryAverageBytes: number;
  at: number;
  samples: number;
}

function containerUsage(samples: UsageSample[]): Usage | undefined {
  const last = samples.at(-1);
  if (!last) return undefined;
  const cpus = samples.map((s) => s.cpuUnits).filter((c): c is number => c !== null);
  return {
    cpu: last.cpuUnits,
    memoryBytes: last.memoryBytes,
    cpuAverage: cpus.length ? cpus.reduce((a, b) => a + b, 0) / cpus.length : null,
    memoryAverageBytes: samples.reduce((a, s) => a + s.memoryBytes, 0) / samples.length,
    at: last.at,
    samples: samples.length,
  };
}

/** Sums containers' (or tasks') use; cpu is unknown if any part's is. */
function sum(parts: Usage[]): Usage {
  const add = (f: (u: Usage) => number | null) => (parts.some((p) => f(p) === null) ? null : parts.reduce((a, p) => a + f(p)!, 0));
  return {
    cpu: add((p) => p.cpu),
    memoryBytes: parts.reduce((a, p) => a + p.memoryBytes, 0),
    cpuAverage: add((p) => p.cpuAverage),
    memoryAverageBytes: parts.reduce((a, p) => a + p.memoryAverageBytes, 0),
    at: Math.min(...parts.map((p) => p.at)),
    samples: Math.max(...parts.map((p) => p.samples)),
  };
}

function view(u: Usage, reserved?: { cpu: number; memory: number }): UsageView {
  const pct = (used: number | null, of: number | undefined) => (used !== null && of ? round((used / of) * 100, 1) : undefined);
  return {
    cpuUtilized: u.cpu === null ? undefined : round(u.cpu, 1),
    memoryUtilized: round(u.memoryBytes / MiB, 3),
    cpuUtilizedAverage: u.cpuAverage === null ? undefined : round(u.cpuAverage, 1),
    memoryUtilizedAverage: round(u.memoryAverageBytes / MiB, 3),
    cpuUtilization: pct(u.cpu, reserved?.cpu),
    memoryUtilization: pct(u.memoryBytes / MiB, reserved?.memory),
    sampledAt: new Date(u.at).toISOString(),
    samples: u.samples,
  };
}

function taskUsage(history: ContainerUsageHistory[]): { task: Usage; containers: Map<string, Usage> } | undefined {
  const containers = new Map<string, Usage>();
  for (const c of history) {
    const u = containerUsage(c.samples);
    if (u) containers.set(c.name, u);
  }
  return containers.size ? { task: sum([...containers.values()]), containers } : undefined;
}

/** A task's stats and its containers', or undefined when the control holds no fresh readings of it. */
export function taskStatsView(store: ContainerStatsStore | undefined, row: TaskRow): { task: UsageView; containers: Map<string, UsageView> } | undefined {
  if (!store || row.lastStatus !== "RUNNING") return undefined;
  const history = store.task(row.instanceId, row.id);
  const usage = history && taskUsage(history);
  if (!usage) return undefined;
  return {
    task: view(usage.task, row.reservation),
    containers: new Map([...usage.containers].map(([name, u]) => [name, view(u)])),
  };
}

/**
 * A service's use over its RUNNING tasks with readings: per-task averages (the auto scaling input:
 * `cpuUtilization` is the service's cpu in use over the cpu its sampled tasks reserve) and totals.
 */
export function serviceStatsView(store: ContainerStatsStore | undefined, tasks: TaskRow[]): ServiceUsageView | undefined {
  if (!store) return undefined;
  const sampled: { usage: Usage; row: TaskRow }[] = [];
  for (const row of tasks) {
    if (row.lastStatus !== "RUNNING") continue;
    const history = store.task(row.instanceId, row.id);
    const usage = history && taskUsage(history);
    if (usage) sampled.push({ usage: usage.task, row });
  }
  if (!sampled.length) return undefined;
  const total = sum(sampled.map((s) => s.usage));
  const n = sampled.length;
  const reserved = sampled.reduce((a, s) => ({ cpu: a.cpu + s.row.reservation.cpu, memory: a.memory + s.row.reservation.memory }), { cpu: 0, memory: 0 });
  const perTask = view({ ...total, cpu: total.cpu === null ? null : total.cpu / n, memoryBytes: total.memoryBytes / n, cpuAverage: total.cpuAverage === null ? null : total.cpuAverage / n, memoryAverageBytes: total.memoryAverageBytes / n }, { cpu: reserved.cpu / n, memory: reserved.memory / n });
  const { samples: _samples, ...rest } = perTask;
  return {
    ...rest,
    tasksSampled: n,
    cpuUtilizedTotal: total.cpu === null ? undefined : round(total.cpu, 1),
    memoryUtilizedTotal: round(total.memoryBytes / MiB, 3),
  };
}
