import type { ContainerStats } from "./types.ts";

/** What a container uses, read from one body in Docker's stats shape. */
export interface ContainerUsageReading {
  /** CPU units in use (1024 = one CPU) between the body's two samples; null when it has no two. */
  cpuUnits: number | null;
  memoryBytes: number;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {});

/**
 * CPU and memory use from a `stream=false` stats body, as `docker stats` computes them. CPU: the
 * container's cpu time between `precpu_stats` and `cpu_stats` over the host's (system_cpu_usage
 * counts every CPU, hence × online_cpus), in CPU units; an engine without system_cpu_usage is
 * measured against the wall clock between `preread` and `read`. Memory: usage less the inactive
 * page cache (cgroup v2 `inactive_file`, v1 `total_inactive_file`), which the kernel takes back
 * under pressure. Null when the body holds no memory reading (the container is not running).
 */
export function containerUsage(stats: ContainerStats): ContainerUsageReading | null {
  const mem = obj(stats.memory_stats);
  const usage = num(mem.usage);
  if (usage === undefined) return null;
  const memStats = obj(mem.stats);
  const inactive = num(memStats.inactive_file) ?? num(memStats.total_inactive_file) ?? 0;
  const memoryBytes = Math.max(0, Math.round(inactive < usage ? usage - inactive : usage));
  return { cpuUnits: cpuUnits(stats), memoryBytes };
}

function cpuUnits(stats: ContainerStats): number | null {
  const cpu = obj(stats.cpu_stats);
  const pre = obj(stats.precpu_stats);
  const total = num(obj(cpu.cpu_usage).total_usage);
  const preTotal = num(obj(pre.cpu_usage).total_usage);
  if (total === undefined || preTotal === undefined || total < preTotal) return null;
  const used = total - preTotal;
  const system = num(cpu.system_cpu_usage);
  const preSystem = num(pre.system_cpu_usage);
  const cpus = num(cpu.online_cpus) ?? (Array.isArray(obj(cpu.cpu_usage).percpu_usage) ? (obj(cpu.cpu_usage).percpu_usage as unknown[]).length : undefined);
  let cpusUsed: number | null = null;
  if (system !== undefined && preSystem !== undefined && system > preSystem && cpus) {
    cpusUsed = (used / (system - preSystem)) * cpus;
  } else {
    const read = Date.parse(String(stats.read ?? ""));
    const preread = Date.parse(String(stats.preread ?? ""));
    // Docker's zero time ("0001-01-01…") for preread means there was no earlier sample.
    if (Number.isFinite(read) && Number.isFinite(preread) && read > preread && preread > 0) cpusUsed = used / ((read - preread) * 1e6);
  }
  return cpusUsed === null ? null : Math.round(cpusUsed * 1024 * 10) / 10;
}
