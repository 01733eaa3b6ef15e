import { appendFileSync } from "node:fs";

/**
 * Benchmark-only trace of where a task's time goes between the commit and RUNNING on the control
 * side (scripts/bench/fleet.ts --trace sets FLOTILLA_LATENCY_TRACE to a file). Off, every call is
 * a no-op on a constant; on, marks are buffered and appended as JSON lines once a second, and
 * event-loop stalls of the control process are recorded too (a stalled loop delays every stage).
 *
 * Stages: `queued` (desiredChanged for the task's instance), `built` (desired set read), `published`
 * (the broker acknowledged the retained publish), `reportReceived` (a report saying RUNNING arrived),
 * `reportApplied` (merged into the database).
 */
export interface LatencyTrace {
  readonly enabled: boolean;
  /** Records a stage of a task once (later marks of the same stage are ignored). */
  mark(taskId: string, stage: string, at?: number): void;
  /** Records something else worth a line (a scheduler round's timings). */
  event(kind: string, data: Record<string, unknown>): void;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across local processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

const off: LatencyTrace = { enabled: false, mark() {}, event() {} };

function fileTrace(path: string): LatencyTrace {
  const seen = new Set<string>();
  let buffer: string[] = [];
  const flush = () => {
    if (buffer.length === 0) return;
    const lines = buffer.join("\n") + "\n";
    buffer = [];
    appendFileSync(path, lines);
  };
  setInterval(flush, 1000).unref();
  process.on("exit", flush);
  // Event-loop stalls: a 10 ms timer that fires late by more than 20 ms says the loop was busy.
  let expected = performance.now() + 10;
  setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    if (late > 20) buffer.push(JSON.stringify({ stall: Math.round(late), at: wallNow() - late }));
    expected = now + 10;
  }, 10).unref();
  return {
    enabled: true,
    mark(taskId, stage, at = wallNow()) {
      const key = `${taskId}\u0000${stage}`;
      if (seen.has(key)) return;
      seen.add(key);
      buffer.push(JSON.stringify({ task: taskId, stage, at }));
    },
    event(kind, data) {
      buffer.push(JSON.stringify({ event: kind, at: wallNow(), ...data }));
    },
  };
}

export const latencyTrace: LatencyTrace = process.env.FLOTILLA_LATENCY_TRACE ? fileTrace(process.env.FLOTILLA_LATENCY_TRACE) : off;
