import { existsSync, readFileSync } from "node:fs";
import { summary } from "./percentiles.ts";

/**
 * Joins the three sides of the fleet benchmark's --trace into one timeline per task and says
 * where RunTask → RUNNING time goes: the benchmark's own marks (POST sent, RUNNING seen), the
 * control's (control/latency-trace.ts: queued, built, published, reportReceived,
 * reportApplied) and the agents' (desiredReceived, reportSent). All are wall-clock times of
 * processes on this machine, so they compare directly.
 */
export interface BenchMarks {
  sent: number;
  seen?: number;
}

type Stall = { stall: number; at: number };

/** Consecutive segments of a task's path; each is the time between two marks. */
const SEGMENTS: [name: string, from: string, to: string][] = [
  ["apiToCommit", "sent", "queued"],
  ["waitForFlush", "queued", "built"],
  ["publishAck", "built", "published"],
  ["brokerToAgent", "built", "desiredReceived"],
  ["agentEngine", "desiredReceived", "reportSent"],
  ["reportToControl", "reportSent", "reportReceived"],
  ["reportMerge", "reportReceived", "reportApplied"],
  ["mergeToSeen", "reportApplied", "seen"],
];

export function readControlTrace(path: string): { marks: Map<string, Record<string, number>>; stalls: Stall[] } {
  const marks = new Map<string, Record<string, number>>();
  const stalls: Stall[] = [];
  if (!existsSync(path)) return { marks, stalls };
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line) as { task?: string; stage?: string; at: number; stall?: number };
    if (e.stall !== undefined) stalls.push({ stall: e.stall, at: e.at });
    else if (e.task && e.stage) {
      const m = marks.get(e.task) ?? {};
      m[e.stage] ??= e.at;
      marks.set(e.task, m);
    }
  }
  return { marks, stalls };
}

/** Stall milliseconds falling inside [from, to]. */
function stalledWithin(stalls: Stall[], from: number, to: number): number {
  let ms = 0;
  for (const s of stalls) {
    const start = Math.max(from, s.at);
    const end = Math.min(to, s.at + s.stall);
    if (end > start) ms += end - start;
  }
  return ms;
}

function stallSummary(stalls: Stall[], from: number, to: number) {
  const inside = stalls.filter((s) => s.at >= from && s.at <= to);
  const r = (n: number) => Math.round(n);
  return {
    count: inside.length,
    totalMs: r(inside.reduce((s, x) => s + x.stall, 0)),
    over50ms: inside.filter((s) => s.stall > 50).length,
    over100ms: inside.filter((s) => s.stall > 100).length,
    maxMs: r(inside.reduce((m, x) => Math.max(m, x.stall), 0)),
  };
}

export function latencyBreakdown(
  bench: Map<string, BenchMarks>,
  control: { marks: Map<string, Record<string, number>>; stalls: Stall[] },
  agents: { tasks: Record<string, { desiredReceived?: number; reportSent?: number; worker: number }>; stalls: (Stall & { worker: number })[] },
  slowest = 8,
) {
  const timelines = [...bench].map(([task, b]) => ({ task, t: { ...control.marks.get(task), ...agents.tasks[task], sent: b.sent, seen: b.seen } as Record<string, number | undefined> }));
  const segments: Record<string, ReturnType<typeof summary>> = {};
  for (const [name, from, to] of SEGMENTS) {
    const values = timelines.flatMap(({ t }) => (t[from] !== undefined && t[to] !== undefined ? [t[to]! - t[from]!] : []));
    segments[name] = summary(values);
  }
  // A task's end: RUNNING seen by the benchmark, else its last mark (service tasks are not polled).
  const end = (t: Record<string, number | undefined>) => t.seen ?? Math.max(...Object.values(t).filter((v): v is number => v !== undefined));
  const from = Math.min(...timelines.map(({ t }) => t.sent!));
  const to = Math.max(...timelines.map(({ t }) => end(t)));
  const total = (t: Record<string, number | undefined>) => end(t) - t.sent!;
  const slow = [...timelines].sort((a, b) => total(b.t) - total(a.t)).slice(0, slowest);
  const round = (n: number | undefined) => (n === undefined ? null : Math.round(n));
  return {
    segments,
    controlStalls: stallSummary(control.stalls, from, to),
    agentWorkerStalls: stallSummary(agents.stalls, from, to),
    slowest: slow.map(({ task, t }) => ({
      task,
      totalMs: round(total(t)),
      ...Object.fromEntries(SEGMENTS.map(([name, a, b]) => [name, t[a] !== undefined && t[b] !== undefined ? round(t[b]! - t[a]!) : null])),
      controlStalledMs: round(stalledWithin(control.stalls, t.sent!, end(t))),
      // Stalls of the worker process that hosts the task's agent.
      workerStalledMs: round(stalledWithin(agents.stalls.filter((s) => s.worker === agents.tasks[task]?.worker), t.sent!, end(t))),
    })),
  };
}
