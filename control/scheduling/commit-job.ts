import type { Reservation } from "../../shared/task-definition/index.ts";
import type { EncodedTaskRows } from "./task-insert.ts";

/**
 * The lease a write must still hold, checked inside the write's own transaction (see
 * control/leader/fence.ts); absent for writes that need no leadership (API calls, reports).
 */
export interface JobFence {
  name: string;
  holder: string;
  token: number;
}

/**
 * One RunTask's commit as it travels to the commit worker: plain data, cheap to copy between
 * threads. All or nothing: the fence (when given) and every claim must still hold, then every row
 * is inserted.
 */
export interface CommitJob {
  kind: "commit";
  /** Rises by one per job; the worker runs jobs in this order. */
  id: number;
  fence?: JobFence;
  reservation: Reservation;
  claims: InstanceClaim[];
  rows: EncodedTaskRows;
}

/** A stopped task's reservation going back to its instance, once (the task's `reserved` flag guards it). */
export interface ReleaseJob {
  kind: "release";
  id: number;
  fence?: JobFence;
  taskId: string;
  instanceId: string;
  reservation: Reservation;
}

export type WriteJob = CommitJob | ReleaseJob;

/**
 * "Add `tasks` × reservation to this instance, if it is still as placement saw it." `version`
 * counts one bump for each earlier job in `after`: jobs placed on this instance whose outcome was
 * not known yet when this one was placed, and whose reservations placement took as made. The row
 * must be at `version` minus the number of those jobs that failed; a failed job only made the
 * placements stacked on it more conservative, so it is no reason to fail them too.
 */
export interface InstanceClaim {
  instanceId: string;
  tasks: number;
  version: number;
  after: number[];
  /** GPU ids these tasks take on the instance (none of which may already be held). */
  gpuIds?: string[];
}

/** "fenced": the job's fence no longer matches the lease row; nothing of it was written. */
export type CommitOutcome = "committed" | "conflict" | "busy" | "fenced";

export type WriteReply =
  | { id: number; outcome: CommitOutcome }
  | { id: number; outcome: "released"; version: number | null }
  | { id: number; outcome: "error"; message: string };
