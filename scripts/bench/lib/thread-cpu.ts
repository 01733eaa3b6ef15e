import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU seconds of each thread of this process so far (Linux: /proc/self/task/N/stat, user +
 * system), keyed "tid:name". Two readings' difference says which thread a benchmark kept busy —
 * e.g. whether the placement main thread or the commit worker is the bottleneck, or whether they
 * take turns (both well under one core while the run is waiting on neither).
 */
export function threadCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(`${tid}:${name}`, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The threads that used at least 0.05 s between two readings, busiest first, by name (tid dropped). */
export function busyThreads(before: Map<string, number>, after: Map<string, number>): { thread: string; cpuSeconds: number }[] {
  const rows: { thread: string; cpuSeconds: number }[] = [];
  for (const [key, seconds] of after) {
    const used = seconds - (before.get(key) ?? 0);
    if (used >= 0.05) rows.push({ thread: key.slice(key.indexOf(":") + 1), cpuSeconds: Math.round(used * 100) / 100 });
  }
  return rows.sort((a, b) => b.cpuSeconds - a.cpuSeconds);
}
