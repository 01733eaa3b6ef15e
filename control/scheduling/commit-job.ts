import type { Reservation } from "../../shared/task-definition/index.ts";
import type { EncodedTaskRows } from "./task-insert.ts";

/**
 * One RunTask's commit as it travels to the commit worker: plain data, cheap to copy between
 * threads. All or nothing: every claim must still hold, then every row is inserted.
 */
export interface CommitJob {
  /** Rises by one per job; the worker runs jobs in this order. */
  id: number;
  reservation: Reservation;
  claims: InstanceClaim[];
  rows: EncodedTaskRows;
}

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
}

export type CommitOutcome = "committed" | "conflict" | "busy";

export type CommitReply = { id: number; outcome: CommitOutcome } | { id: number; outcome: "error"; message: string };
