import { docker } from "./docker.ts";
import type { Interval } from "./intervals.ts";

/** When one container ran, as the engine recorded it (ms since the epoch; `to` Infinity while running). */
export interface ContainerInterval extends Interval {
  id: string;
  /** The Flotilla task the container belongs to (its flotilla.task-id label). */
  taskId: string;
}

/**
 * Every container carrying a label (KEY=VALUE), running or exited, with the start and finish
 * times Docker recorded. Reading the record afterwards sees every dip, where sampling `docker ps`
 * every few ms can miss one between two samples. Containers must still exist (the agent keeps
 * them until --task-cleanup-wait, 3 h by default). Count them with intervals.ts.
 */
export async function containerIntervals(label: string): Promise<ContainerInterval[]> {
  const ids = await docker("ps", "-aq", "--no-trunc", "--filter", `label=${label}`);
  if (!ids) return [];
  const format = '{{.Id}} {{.State.Running}} {{.State.StartedAt}} {{.State.FinishedAt}} {{index .Config.Labels "flotilla.task-id"}}';
  const out = await docker("inspect", "--format", format, ...ids.split("\n"));
  return out.split("\n").flatMap((line) => {
    const [id, running, startedAt, finishedAt, taskId] = line.split(" ");
    const from = Date.parse(startedAt!);
    if (!(from > 0)) return []; // created, never started (Docker's zero time is year 1)
    return [{ id: id!, taskId: taskId ?? "", from, to: running === "true" ? Infinity : Date.parse(finishedAt!) }];
  });
}
