import { Cron } from "croner";

/**
 * A deployment window's schedule: when it opens (a cron expression read in an IANA time zone, by
 * croner — 5 fields, or 6 with seconds first) and for how long. Pure: the time is always passed in,
 * so tests move a fake clock instead of waiting.
 */
export interface WindowSchedule {
  cron: Cron;
  durationMs: number;
}

export type ScheduleCheck = { ok: true; schedule: WindowSchedule } | { ok: false; field: "schedule" | "timeZone"; message: string };

/** Is this an IANA zone name the runtime knows ("Europe/Berlin", "UTC")? */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Builds a schedule, or says which input is wrong (a 400 names that field). */
export function compileSchedule(expression: string, timeZone: string, durationMinutes: number): ScheduleCheck {
  if (!isTimeZone(timeZone)) return { ok: false, field: "timeZone", message: `unknown IANA time zone "${timeZone}"` };
  let cron: Cron;
  try {
    // paused: a Cron given no function never runs anything; it only answers nextRun().
    cron = new Cron(expression, { timezone: timeZone, paused: true, mode: "auto" });
  } catch (e) {
    return { ok: false, field: "schedule", message: (e as Error).message.replace(/^CronPattern: /, "") };
  }
  return { ok: true, schedule: { cron, durationMs: durationMinutes * 60_000 } };
}

/** When one window is open around `now`: open now (until closesAt), or closed until opensAt (undefined: never again). */
export type OneWindowState = { open: true; closesAt: number } | { open: false; opensAt?: number };

/**
 * An opening that started at s is open on [s, s + duration). The openings that can cover `now`
 * start after now − duration; the first one at or before now opens it, and a later one that
 * overlaps it extends it (a window longer than its period stays open).
 */
export function scheduleStateAt(s: WindowSchedule, now: number): OneWindowState {
  // nextRun(x) is the first opening strictly after x: one exactly at now − duration closed at now.
  const first = s.cron.nextRun(new Date(now - s.durationMs))?.getTime();
  if (first === undefined) return { open: false };
  if (first > now) return { open: false, opensAt: first };
  let start: number = first;
  let closesAt = start + s.durationMs;
  // Overlapping openings (a 2 h window every hour) keep it open: follow them to the real close.
  for (let i = 0; i < 1000; i++) {
    const next: number | undefined = s.cron.nextRun(new Date(start))?.getTime();
    if (next === undefined || next >= closesAt) break;
    start = next;
    closesAt = next + s.durationMs;
  }
  return { open: true, closesAt };
}
