import type { InValue } from "@libsql/client";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { TaskRow } from "../db/rows.ts";
import { tasks } from "../db/schema.ts";

const table = getTableName(tasks);
const columns = Object.entries(getTableColumns(tasks));
const columnList = columns.map(([, col]) => `"${col.name}"`).join(", ");
const rowPlaceholders = `(${columns.map(() => "?").join(", ")})`;

/** INSERT of one complete task row; prepared once and run per row with `taskRowArgs`. */
export const insertTaskRowSql = `INSERT INTO "${table}" (${columnList}) VALUES ${rowPlaceholders}`;

/** INSERT of `rows` complete task rows in one statement, their `taskRowArgs` one after another. */
export function insertTaskRowsSql(rows: number): string {
  return `INSERT INTO "${table}" (${columnList}) VALUES ${Array(rows).fill(rowPlaceholders).join(", ")}`;
}

/**
 * A task row's values in column order, encoded by the schema's own column mappers (JSON,
 * booleans) so they stay in step with control/db/schema.ts.
 */
export function taskRowArgs(row: TaskRow, args: InValue[] = []): InValue[] {
  for (const [key, col] of columns) {
    const value = row[key as keyof TaskRow];
    args.push(value === null || value === undefined ? null : (col.mapToDriverValue(value) as InValue));
  }
  return args;
}

/** What tells the rows of one RunTask apart; every other column is the same for all of them. */
export type TaskIdentity = Pick<TaskRow, "id" | "arn" | "instanceId">;
export type SharedTaskColumns = Omit<TaskRow, keyof TaskIdentity>;

/** What names a new task's definition and placement; every other column starts as a fresh task's. */
export type NewTaskColumns = Pick<SharedTaskColumns, "clusterName" | "family" | "revision" | "taskDefinitionArn" | "group" | "containers" | "reservation"> &
  Partial<SharedTaskColumns>;

/** The shared columns of tasks just placed: PROVISIONING, desired RUNNING, reserved, nothing else yet. */
export function newTaskColumns(given: NewTaskColumns, now: number): SharedTaskColumns {
  return {
    startedBy: null,
    serviceName: null,
    deploymentId: null,
    healthStatus: "UNKNOWN",
    desiredStatus: "RUNNING",
    lastStatus: "PROVISIONING",
    reserved: true,
    createdAt: now,
    startedAt: null,
    stoppingAt: null,
    deactivatingAt: null,
    deactivationEndsAt: null,
    stoppedAt: null,
    stoppedReason: null,
    stopCode: null,
    events: null,
    updatedAt: now,
    overrides: null,
    clientToken: null,
    clientRequest: null,
    ...given,
  };
}

/** One RunTask's rows, compact to send to the commit worker: the shared columns encoded once. */
export interface EncodedTaskRows {
  /** All columns in order, the identity ones left null. */
  shared: InValue[];
  /** Per row: id, arn, instance id. */
  identities: [string, string, string][];
  /**
   * Per row, encoded: its reservation and containers, for tasks that differ there (those given
   * GPUs: each its own ids). Absent when every row shares them.
   */
  own?: [InValue, InValue][];
  /**
   * When set, the time of the rows' "ECS Task State Change" events: the commit worker builds each
   * row's from its columns (task-events.ts) and inserts it in the same savepoint as the row, so an
   * event exists exactly when its task does. Built there rather than on the main thread, where
   * building and stringifying them cost about a tenth of a placement's time.
   */
  stateChangeEventsAt?: number;
}

/** The columns a task with GPUs has of its own: the ids in its reservation and on its containers. */
export type OwnTaskColumns = Pick<TaskRow, "reservation" | "containers">;

const at = (key: keyof TaskRow) => columns.findIndex(([k]) => k === key);
const ID_AT = at("id");
const ARN_AT = at("arn");
const INSTANCE_AT = at("instanceId");
const RESERVATION_AT = at("reservation");
const CONTAINERS_AT = at("containers");
const COLUMN = Object.fromEntries(columns);

/** `own`, when given, holds each row's reservation and containers (the same order as `rows`). */
export function encodeTaskRows(shared: SharedTaskColumns, rows: readonly TaskIdentity[], own?: readonly OwnTaskColumns[]): EncodedTaskRows {
  return {
    shared: taskRowArgs({ ...shared, id: "", arn: "", instanceId: "" }),
    identities: rows.map((r) => [r.id, r.arn, r.instanceId]),
    ...(own
      ? {
          own: own.map((o): [InValue, InValue] => [
            COLUMN.reservation!.mapToDriverValue(o.reservation) as InValue,
            COLUMN.containers!.mapToDriverValue(o.containers) as InValue,
          ]),
        }
      : {}),
  };
}

/** Row `i`'s values in column order, for `insertTaskRowSql`. */
export function encodedRowArgs(encoded: EncodedTaskRows, i: number): InValue[] {
  const args = encoded.shared.slice();
  const [id, arn, instanceId] = encoded.identities[i]!;
  args[ID_AT] = id;
  args[ARN_AT] = arn;
  args[INSTANCE_AT] = instanceId;
  const own = encoded.own?.[i];
  if (own) [args[RESERVATION_AT], args[CONTAINERS_AT]] = own;
  return args;
}

/**
 * The rows as the database will hold them, decoded from their encoded columns by the schema's
 * own mappers (the shared columns once): what the commit worker builds the rows' events from.
 */
export function decodedTaskRows(encoded: EncodedTaskRows): TaskRow[] {
  const shared = {} as Record<string, unknown>;
  columns.forEach(([key, col], k) => {
    const value = encoded.shared[k];
    shared[key] = value === null || value === undefined ? null : col.mapFromDriverValue(value);
  });
  return encoded.identities.map(([id, arn, instanceId], i): TaskRow => {
    const row = { ...shared, id, arn, instanceId } as TaskRow;
    const own = encoded.own?.[i];
    if (own) {
      row.reservation = COLUMN.reservation!.mapFromDriverValue(own[0]) as TaskRow["reservation"];
      row.containers = COLUMN.containers!.mapFromDriverValue(own[1]) as TaskRow["containers"];
    }
    return row;
  });
}
