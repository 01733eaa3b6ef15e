import { encodeEvent, type EncodedEvent } from "../events/log.ts";
import { taskStateChange } from "../events/shapes.ts";
import { decodedTaskRows, type EncodedTaskRows } from "./task-insert.ts";

/**
 * The "ECS Task State Change" events of one RunTask's encoded rows, at `at`: exactly the events
 * `encodeEvent(at, taskStateChange(row))` gives for the rows themselves (a test compares them),
 * built on the commit worker from what it inserts.
 */
export function taskStateChangeEvents(rows: EncodedTaskRows, at: number): EncodedEvent[] {
  return decodedTaskRows(rows).map((row) => encodeEvent(at, taskStateChange(row)));
}
