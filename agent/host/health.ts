import type { InstanceHealth } from "../../shared/messages.ts";

/** What one round of checks measured; undefined where a measurement was not possible. */
export interface HealthSample {
  /** Error text when the container runtime did not answer. */
  runtimeError?: string;
  cpu?: CpuTimes;
  memory?: { totalBytes: number; availableBytes: number };
  disk?: { path: string; freeBytes: number; totalBytes: number };
  diskError?: string;
  at: number;
}

export interface HealthThresholds {
  /** DISK_SPACE is impaired below this many free bytes under the runtime's data root. */
  minDiskFreeBytes: number;
  /** ...or below this share of the disk (0-100). */
  minDiskFreePercent: number;
  /** MEMORY_PRESSURE is impaired when less than this share of memory is available (0-100). */
  minMemoryAvailablePercent: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  minDiskFreeBytes: 512 * 1024 * 1024,
  minDiskFreePercent: 2,
  minMemoryAvailablePercent: 5,
};

export interface CpuTimes {
  idle: number;
  total: number;
}

/** The aggregate line of /proc/stat: idle (idle + iowait) and total jiffies. */
export function parseCpuStat(text: string): CpuTimes | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  if (n.length < 4 || n.some(Number.isNaN)) return undefined;
  // guest and guest_nice are already counted in user and nice.
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle: n[3]! + (n[4] ?? 0), total };
}

/** Busy share (0-100) between two samples of /proc/stat. */
export function cpuUtilization(prev: CpuTimes | undefined, cur: CpuTimes | undefined): number | undefined {
  if (!prev || !cur || cur.total <= prev.total) return undefined;
  const busy = 1 - (cur.idle - prev.idle) / (cur.total - prev.total);
  return round1(Math.min(100, Math.max(0, busy * 100)));
}

/** MemTotal and MemAvailable from /proc/meminfo (kB there). */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | undefined {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb("MemTotal");
  const available = kb("MemAvailable");
  return total && available !== undefined ? { totalBytes: total, availableBytes: available } : undefined;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Turns a sample into ECS's health shape: one detail per check, the overall status IMPAIRED when
 * any check is. A check keeps its lastStatusChange until its status actually changes.
 */
export function evaluateHealth(s: HealthSample, prevCpu: CpuTimes | undefined, t: HealthThresholds, previous?: InstanceHealth): InstanceHealth {
  const since = (type: string, status: "OK" | "IMPAIRED") => {
    const before = previous?.details.find((d) => d.type === type);
    return before && before.status === status ? before.lastStatusChange : s.at;
  };
  const details: InstanceHealth["details"] = [];
  const add = (type: InstanceHealth["details"][number]["type"], impaired: string | undefined, note?: string) => {
    const status = impaired ? "IMPAIRED" : "OK";
    details.push({ type, status, ...(impaired || note ? { reason: impaired ?? note } : {}), lastStatusChange: since(type, status) });
  };
  add("CONTAINER_RUNTIME", s.runtimeError ? `the container runtime did not answer: ${s.runtimeError}` : undefined);
  if (s.disk) {
    const pct = s.disk.totalBytes ? (s.disk.freeBytes / s.disk.totalBytes) * 100 : 100;
    const low = s.disk.freeBytes < t.minDiskFreeBytes || pct < t.minDiskFreePercent;
    add("DISK_SPACE", low ? `${formatBytes(s.disk.freeBytes)} free under ${s.disk.path} (${round1(pct)}%)` : undefined);
  } else {
    add("DISK_SPACE", undefined, `not measured: ${s.diskError ?? "no data root"}`);
  }
  if (s.memory) {
    const pct = (s.memory.availableBytes / s.memory.totalBytes) * 100;
    add("MEMORY_PRESSURE", pct < t.minMemoryAvailablePercent ? `only ${round1(pct)}% of memory available` : undefined);
  } else {
    add("MEMORY_PRESSURE", undefined, "not measured: /proc/meminfo unreadable");
  }
  return {
    overallStatus: details.some((d) => d.status === "IMPAIRED") ? "IMPAIRED" : "OK",
    details,
    metrics: {
      cpuUtilization: cpuUtilization(prevCpu, s.cpu),
      memoryUtilization: s.memory ? round1(100 - (s.memory.availableBytes / s.memory.totalBytes) * 100) : undefined,
      diskFreeBytes: s.disk?.freeBytes,
      diskTotalBytes: s.disk?.totalBytes,
    },
    checkedAt: s.at,
  };
}

/**
 * Whether a new health reading is worth an uplink message: any status change, or metrics that
 * moved by at least `metricStep` percentage points (disk: of its size), or a stale last report.
 */
export function meaningfulChange(sent: InstanceHealth | undefined, next: InstanceHealth, metricStep = 5, maxAgeMs = 15 * 60_000): boolean {
  if (!sent) return true;
  if (sent.overallStatus !== next.overallStatus) return true;
  if (sent.details.map((d) => `${d.type}:${d.status}`).join() !== next.details.map((d) => `${d.type}:${d.status}`).join()) return true;
  const moved = (a?: number, b?: number) => (a === undefined) !== (b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) >= metricStep);
  // CPU use swings more than the rest; each health message carries a full report, so it takes a
  // bigger move to be worth one.
  const cpuMoved = (a?: number, b?: number) => (a === undefined) !== (b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) >= metricStep * 2);
  if (cpuMoved(sent.metrics.cpuUtilization, next.metrics.cpuUtilization)) return true;
  if (moved(sent.metrics.memoryUtilization, next.metrics.memoryUtilization)) return true;
  const total = next.metrics.diskTotalBytes;
  if (total && moved(((sent.metrics.diskFreeBytes ?? 0) / total) * 100, ((next.metrics.diskFreeBytes ?? 0) / total) * 100)) return true;
  return next.checkedAt - sent.checkedAt >= maxAgeMs;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${round1(n)} ${units[i]}`;
}
