import { and, eq } from "drizzle-orm";
import { parseArn } from "../../shared/arn.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { Db } from "./open.ts";
import { perDatabase } from "./per-database.ts";
import type { TaskDefinitionRow } from "./rows.ts";
import { taskDefinitions } from "./schema.ts";

/**
 * What never changes about a task definition revision: everything but its status. RunTask,
 * the service scheduler, desired sets and endpoints all take their spec from here, so a
 * revision's JSON is read and parsed once per database, not once or more per task.
 */
export type TaskDefinitionRevision = Pick<TaskDefinitionRow, "family" | "revision" | "arn" | "registeredAt"> & {
  /** Normalised by parseTaskDefinition at registration; stored and cached as such. */
  spec: TaskDefinitionSpec;
};

/**
 * By ARN, per database (see per-database.ts for why never process-wide). Promises, so callers
 * asking at once share one read; a miss is not remembered (the revision may be registered later).
 */
const byArn = perDatabase(() => new Map<string, Promise<TaskDefinitionRevision | undefined>>());

/** The immutable part of a row; its spec is frozen, since every reader of the revision shares it. */
export function revisionOf(row: TaskDefinitionRow): TaskDefinitionRevision {
  return { family: row.family, revision: row.revision, arn: row.arn, registeredAt: row.registeredAt, spec: deepFreeze(row.spec as TaskDefinitionSpec) };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The revision an ARN names, from the cache or read once; undefined when there is none. */
export function taskDefinitionRevision(db: Db, arn: string): Promise<TaskDefinitionRevision | undefined> {
  const cache = byArn(db);
  let hit = cache.get(arn);
  if (!hit) {
    hit = readRevision(db, arn);
    cache.set(arn, hit);
    hit.then(
      (rev) => rev === undefined && cache.delete(arn),
      () => cache.delete(arn),
    );
  }
  return hit;
}

/** Adds a revision just registered (its spec already parsed), so nothing reads it back. */
export function rememberRevision(db: Db, revision: TaskDefinitionRevision): void {
  byArn(db).set(revision.arn, Promise.resolve(revision));
}

async function readRevision(db: Db, arn: string): Promise<TaskDefinitionRevision | undefined> {
  const parsed = parseArn(arn);
  if (parsed?.kind !== "task-definition") return undefined;
  const row = await db
    .select()
    .from(taskDefinitions)
    .where(and(eq(taskDefinitions.family, parsed.family), eq(taskDefinitions.revision, parsed.revision)))
    .get();
  return row && row.arn === arn ? revisionOf(row) : undefined;
}
