import { and, desc, eq, max } from "drizzle-orm";
import { z } from "zod";
import { arn } from "../../shared/arn.ts";
import { parseTaskDefinition, type FieldIssue } from "../../shared/task-definition/index.ts";
import type { TaskDefinitionRow } from "../db/rows.ts";
import { taskDefinitions } from "../db/schema.ts";
import { rememberRevision, revisionOf, taskDefinitionRevision, type TaskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { prefetchTaskPlatform } from "../scheduling/task-platform.ts";
import type { OpsContext } from "./context.ts";
import { clientError, invalid, notFound } from "./errors.ts";
import { taskDefinitionRef } from "./references.ts";
import { tagsSchema, writeTags } from "./tag-store.ts";
import { parseInput } from "./validate.ts";

/** A registered revision and what of the body was accepted but ignored (describe-task-definition output fields). */
export type RegisteredTaskDefinition = TaskDefinitionRow & { warnings: FieldIssue[] };

export async function registerTaskDefinition(ctx: OpsContext, body: unknown): Promise<RegisteredTaskDefinition> {
  const parsed = parseTaskDefinition(body);
  if (!parsed.ok) {
    throw invalid(parsed.issues.map((f) => `${f.path}: ${f.message}`).join("; "), parsed.issues);
  }
  const spec = parsed.value;
  const warnings = parsed.warnings ?? [];
  const tags = parseInput(z.object({ tags: tagsSchema.optional() }), { tags: spec.tags }).tags ?? [];
  const registered = await ctx.serialize(async () => {
    const [last] = await ctx.db
      .select({ rev: max(taskDefinitions.revision) })
      .from(taskDefinitions)
      .where(eq(taskDefinitions.family, spec.family));
    const revision = (last?.rev ?? 0) + 1;
    const row: TaskDefinitionRow = {
      family: spec.family,
      revision,
      arn: arn.taskDefinition(spec.family, revision),
      status: "ACTIVE",
      spec,
      registeredAt: ctx.clock.now(),
      deregisteredAt: null,
    };
    await ctx.db.transaction(async (tx) => {
      await tx.insert(taskDefinitions).values(row);
      // The definition's tags are the revision's resource tags (ListTagsForResource, include TAGS).
      await writeTags(tx, row.arn, tags);
    });
    rememberRevision(ctx.db, revisionOf(row));
    return { ...row, warnings };
  });
  prefetchTaskPlatform(ctx, spec);
  return registered;
}

/** A task definition as a launch sees it: the immutable revision and its current status. */
export type ResolvedTaskDefinition = TaskDefinitionRevision & Pick<TaskDefinitionRow, "status" | "deregisteredAt">;

/**
 * Resolves a reference as ECS does: `family` means the latest ACTIVE revision; an explicit
 * revision resolves even when INACTIVE (describe and deregister work on it; launches refuse it,
 * see launchableTaskDefinition). Only the status is read each time: the spec comes from the
 * per-database revision cache.
 */
export async function resolveTaskDefinition(ctx: OpsContext, ref: string, field = "taskDefinition"): Promise<ResolvedTaskDefinition> {
  const { family, revision } = taskDefinitionRef(field, ref);
  const cols = { arn: taskDefinitions.arn, status: taskDefinitions.status, deregisteredAt: taskDefinitions.deregisteredAt };
  const row =
    revision === undefined
      ? await ctx.db
          .select(cols)
          .from(taskDefinitions)
          .where(and(eq(taskDefinitions.family, family), eq(taskDefinitions.status, "ACTIVE")))
          .orderBy(desc(taskDefinitions.revision))
          .get()
      : await ctx.db
          .select(cols)
          .from(taskDefinitions)
          .where(and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, revision)))
          .get();
  const rev = row && (await taskDefinitionRevision(ctx.db, row.arn));
  if (!row || !rev) throw notFound("ClientException", `task definition "${ref}" not found`);
  return { ...rev, status: row.status, deregisteredAt: row.deregisteredAt };
}

/**
 * The revision RunTask, CreateService and UpdateService may start tasks of. As in ECS, naming an
 * INACTIVE revision explicitly is refused; services and tasks already on it are not affected
 * (the service scheduler reads revisions by ARN, whatever their status).
 */
export async function launchableTaskDefinition(ctx: OpsContext, ref: string, field = "taskDefinition"): Promise<ResolvedTaskDefinition> {
  const td = await resolveTaskDefinition(ctx, ref, field);
  if (td.status !== "ACTIVE") {
    const what = td.status === "INACTIVE" ? "inactive" : "being deleted";
    throw clientError(`TaskDefinition is ${what}`, [{ path: field, message: `${td.family}:${td.revision} is ${td.status}` }]);
  }
  return td;
}

/** At start: looks up the images of every ACTIVE revision (in the background; returns when asked). */
export async function prefetchActiveTaskPlatforms(ctx: OpsContext): Promise<void> {
  const rows = await ctx.db.select({ arn: taskDefinitions.arn }).from(taskDefinitions).where(eq(taskDefinitions.status, "ACTIVE")).all();
  for (const { arn } of rows) {
    const rev = await taskDefinitionRevision(ctx.db, arn);
    if (rev) prefetchTaskPlatform(ctx, rev.spec);
  }
}

export type TaskDefinitionStatus = TaskDefinitionRow["status"];

/** ListTaskDefinitions: by family then revision (ASC, ECS's default) or the reverse (DESC). */
export async function listTaskDefinitions(
  ctx: OpsContext,
  filter: { familyPrefix?: string; status?: TaskDefinitionStatus; sort?: "ASC" | "DESC" },
): Promise<TaskDefinitionRow[]> {
  const rows = await ctx.db
    .select()
    .from(taskDefinitions)
    .where(eq(taskDefinitions.status, filter.status ?? "ACTIVE"))
    .orderBy(taskDefinitions.family, taskDefinitions.revision)
    .all();
  const matching = filter.familyPrefix ? rows.filter((r) => r.family.startsWith(filter.familyPrefix!)) : rows;
  return filter.sort === "DESC" ? matching.reverse() : matching;
}

/**
 * ListTaskDefinitionFamilies, as ECS reads its status filter: ACTIVE = families with an ACTIVE
 * revision; INACTIVE = families without one (every revision deregistered or being deleted); ALL = both.
 */
export async function listTaskDefinitionFamilies(
  ctx: OpsContext,
  filter: { familyPrefix?: string; status?: "ACTIVE" | "INACTIVE" | "ALL" },
): Promise<string[]> {
  const rows = await ctx.db
    .select({ family: taskDefinitions.family, status: taskDefinitions.status })
    .from(taskDefinitions)
    .orderBy(taskDefinitions.family)
    .all();
  const active = new Set(rows.filter((r) => r.status === "ACTIVE").map((r) => r.family));
  const all = [...new Set(rows.map((r) => r.family))].filter((f) => !filter.familyPrefix || f.startsWith(filter.familyPrefix));
  const status = filter.status ?? "ACTIVE";
  if (status === "ALL") return all;
  return all.filter((f) => active.has(f) === (status === "ACTIVE"));
}

export interface DeleteTaskDefinitionsResult {
  taskDefinitions: TaskDefinitionRow[];
  failures: { arn: string; reason: string; detail?: string }[];
}

/**
 * DeleteTaskDefinitions: each named revision must be INACTIVE (deregistered); it becomes
 * DELETE_IN_PROGRESS, which no launch accepts. Rows stay, so the family's revision numbers are
 * never reused and tasks still running on it keep their definition. Revisions that cannot be
 * deleted are failures, as in ECS; the others are deleted all the same.
 */
export async function deleteTaskDefinitions(ctx: OpsContext, refs: string[]): Promise<DeleteTaskDefinitionsResult> {
  const out: DeleteTaskDefinitionsResult = { taskDefinitions: [], failures: [] };
  for (const [i, ref] of refs.entries()) {
    const { family, revision } = taskDefinitionRef(`taskDefinitions[${i}]`, ref);
    if (revision === undefined) {
      throw invalid(`taskDefinitions[${i}]: a revision is required to delete`, [{ path: `taskDefinitions[${i}]`, message: "must be family:revision or an ARN" }]);
    }
    const row = await ctx.serialize(async () => {
      const where = and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, revision));
      const current = await ctx.db.select().from(taskDefinitions).where(where).get();
      if (!current || current.status !== "INACTIVE") return current ?? null;
      await ctx.db.update(taskDefinitions).set({ status: "DELETE_IN_PROGRESS" }).where(where);
      return { ...current, status: "DELETE_IN_PROGRESS" as const };
    });
    const arnOf = arn.taskDefinition(family, revision);
    if (!row) out.failures.push({ arn: arnOf, reason: "TASK_DEFINITION_NOT_FOUND", detail: `task definition ${family}:${revision} does not exist` });
    else if (row.status === "ACTIVE") out.failures.push({ arn: arnOf, reason: "TASK_DEFINITION_ACTIVE", detail: "The specified task definition is ACTIVE; deregister it before deleting it" });
    else out.taskDefinitions.push(row);
  }
  return out;
}

export async function deregisterTaskDefinition(ctx: OpsContext, ref: string): Promise<TaskDefinitionRow> {
  const { revision } = taskDefinitionRef("taskDefinition", ref);
  if (revision === undefined) {
    throw invalid("taskDefinition: a revision is required to deregister", [
      { path: "taskDefinition", message: "must be family:revision" },
    ]);
  }
  return ctx.serialize(async () => {
    const row = await resolveTaskDefinition(ctx, ref);
    if (row.status !== "ACTIVE") return row;
    const now = ctx.clock.now();
    await ctx.db
      .update(taskDefinitions)
      .set({ status: "INACTIVE", deregisteredAt: now })
      .where(and(eq(taskDefinitions.family, row.family), eq(taskDefinitions.revision, row.revision)));
    return { ...row, status: "INACTIVE", deregisteredAt: now };
  });
}
