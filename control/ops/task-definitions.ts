import { and, desc, eq, max } from "drizzle-orm";
import { arn } from "../../shared/arn.ts";
import { parseTaskDefinition, type FieldIssue, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { taskDefinitions } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";

export type TaskDefinitionRow = typeof taskDefinitions.$inferSelect;

/** A registered revision and what of the body was accepted but ignored (describe-task-definition output fields). */
export type RegisteredTaskDefinition = TaskDefinitionRow & { warnings: FieldIssue[] };

export async function registerTaskDefinition(ctx: OpsContext, body: unknown): Promise<RegisteredTaskDefinition> {
  const parsed = parseTaskDefinition(body);
  if (!parsed.ok) {
    throw invalid(parsed.issues.map((f) => `${f.path}: ${f.message}`).join("; "), parsed.issues);
  }
  const spec = parsed.value;
  const warnings = parsed.warnings ?? [];
  return ctx.serialize(async () => {
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
    await ctx.db.insert(taskDefinitions).values(row);
    return { ...row, warnings };
  });
}

/** Splits `family`, `family:revision` or a task definition ARN. */
export function parseTaskDefinitionRef(ref: string): { family: string; revision?: number } {
  const tail = ref.startsWith("arn:") ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
  const m = /^([A-Za-z0-9_-]{1,255})(?::(\d+))?$/.exec(tail);
  if (!m) throw invalid(`taskDefinition: "${ref}" is not family, family:revision or a task definition ARN`, [
    { path: "taskDefinition", message: "must be family, family:revision or a task definition ARN" },
  ]);
  return { family: m[1]!, revision: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * Resolves a reference as ECS does: `family` means the latest ACTIVE revision; an explicit
 * revision resolves even when INACTIVE (existing tasks and services keep working).
 */
export async function resolveTaskDefinition(ctx: OpsContext, ref: string): Promise<TaskDefinitionRow> {
  const { family, revision } = parseTaskDefinitionRef(ref);
  const row =
    revision === undefined
      ? await ctx.db
          .select()
          .from(taskDefinitions)
          .where(and(eq(taskDefinitions.family, family), eq(taskDefinitions.status, "ACTIVE")))
          .orderBy(desc(taskDefinitions.revision))
          .get()
      : await ctx.db
          .select()
          .from(taskDefinitions)
          .where(and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, revision)))
          .get();
  if (!row) throw notFound("ClientException", `task definition "${ref}" not found`);
  return row;
}

export function specOf(row: TaskDefinitionRow): TaskDefinitionSpec {
  return row.spec as TaskDefinitionSpec;
}

export async function listTaskDefinitions(
  ctx: OpsContext,
  filter: { familyPrefix?: string; status?: "ACTIVE" | "INACTIVE" },
): Promise<TaskDefinitionRow[]> {
  const rows = await ctx.db
    .select()
    .from(taskDefinitions)
    .where(eq(taskDefinitions.status, filter.status ?? "ACTIVE"))
    .orderBy(taskDefinitions.family, taskDefinitions.revision)
    .all();
  return filter.familyPrefix ? rows.filter((r) => r.family.startsWith(filter.familyPrefix!)) : rows;
}

export async function deregisterTaskDefinition(ctx: OpsContext, ref: string): Promise<TaskDefinitionRow> {
  const { revision } = parseTaskDefinitionRef(ref);
  if (revision === undefined) {
    throw invalid("taskDefinition: a revision is required to deregister", [
      { path: "taskDefinition", message: "must be family:revision" },
    ]);
  }
  return ctx.serialize(async () => {
    const row = await resolveTaskDefinition(ctx, ref);
    if (row.status === "INACTIVE") return row;
    const now = ctx.clock.now();
    await ctx.db
      .update(taskDefinitions)
      .set({ status: "INACTIVE", deregisteredAt: now })
      .where(and(eq(taskDefinitions.family, row.family), eq(taskDefinitions.revision, row.revision)));
    return { ...row, status: "INACTIVE", deregisteredAt: now };
  });
}
