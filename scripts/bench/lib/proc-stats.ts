import { readFileSync } from "node:fs";

/** Kernel clock ticks per second (USER_HZ); 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** user + system CPU seconds used so far. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak RSS (VmHWM) so far. */
  peakRssBytes: number;
  at: number;
}

/** Reads /proc/PID/stat and /proc/PID/status: CPU time and resident memory of a live process. */
export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM"), at: performance.now() };
}

/** CPU used between two samples, as a percentage of one core. */
export function cpuPercent(a: ProcSample, b: ProcSample): number {
  const wallSeconds = (b.at - a.at) / 1000;
  return wallSeconds > 0 ? ((b.cpuSeconds - a.cpuSeconds) / wallSeconds) * 100 : 0;
}

export const MiB = 1024 * 1024;
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
