import { docker } from "./docker.ts";

/** When one container ran, as the engine recorded it (ms since the epoch; `end` Infinity while running). */
export interface RunInterval {
  id: string;
  /** The Flotilla task the container belongs to (its flotilla.task-id label). */
  taskId: string;
  start: number;
  end: number;
}

/**
 * Every container carrying a label (KEY=VALUE), running or exited, with the start and finish
 * times Docker recorded. Reading the record afterwards sees every dip, where sampling `docker ps`
 * every few ms can miss one between two samples. Containers must still exist (the agent keeps
 * them until --task-cleanup-wait, 3 h by default).
 */
export async function containerIntervals(label: string): Promise<RunInterval[]> {
  const ids = await docker("ps", "-aq", "--no-trunc", "--filter", `label=${label}`);
  if (!ids) return [];
  const format = '{{.Id}} {{.State.Running}} {{.State.StartedAt}} {{.State.FinishedAt}} {{index .Config.Labels "flotilla.task-id"}}';
  const out = await docker("inspect", "--format", format, ...ids.split("\n"));
  return out.split("\n").flatMap((line) => {
    const [id, running, startedAt, finishedAt, taskId] = line.split(" ");
    const start = Date.parse(startedAt!);
    if (!(start > 0)) return []; // created, never started (Docker's zero time is year 1)
    return [{ id: id!, taskId: taskId ?? "", start, end: running === "true" ? Infinity : Date.parse(finishedAt!) }];
  });
}

/** How many intervals cover the instant t. */
function coveringAt(intervals: RunInterval[], t: number): number {
  return intervals.filter((i) => i.start <= t && t < i.end).length;
}

/**
 * The fewest intervals running at once at any instant of [from, to]. A stop and a start at the same
 * instant count the stop first, so a hand-over with no overlap shows as the dip it is.
 */
export function minRunning(intervals: RunInterval[], from: number, to: number): number {
  let count = coveringAt(intervals, from);
  let min = count;
  const changes = intervals
    .flatMap((i) => [
      { at: i.start, delta: +1 },
      { at: i.end, delta: -1 },
    ])
    .filter((c) => c.at > from && c.at <= to)
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  for (const c of changes) {
    count += c.delta;
    min = Math.min(min, count);
  }
  return min;
}
