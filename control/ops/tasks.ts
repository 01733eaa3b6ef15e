import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { DESIRED_STATUSES } from "../../shared/status.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { TaskRow } from "../db/rows.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { tasks } from "../db/schema.ts";
import { placementConstraintsSchema, placementStrategiesSchema } from "../placement/index.ts";
import { startTasks } from "../scheduling/start-tasks.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { notFound } from "./errors.ts";
import { resourceName } from "./references.ts";
import { launchableTaskDefinition } from "./task-definitions.ts";
import { parseInput } from "./validate.ts";
import { enforceClusterPolicy } from "./policy.ts";
import { requireSecretsExist } from "./secrets.ts";

const runTaskInput = z.strictObject({
  taskDefinition: z.string().min(1),
  count: z.number().int().min(1).max(10).default(1),
  startedBy: z.string().max(128).optional(),
  group: z.string().max(255).optional(),
  placementConstraints: placementConstraintsSchema.optional(),
  placementStrategy: placementStrategiesSchema.optional(),
  launchType: z.enum(["EXTERNAL", "EC2", "FARGATE"]).optional(),
});

export interface RunTaskResult {
  tasks: TaskRow[];
  failures: { arn?: string; reason: string; detail: string }[];
}

/** RunTask: validate (memberOf expressions are parsed here, so errors are 400s), then place and commit. */
export async function runTask(ctx: OpsContext, cluster: string, input: unknown): Promise<RunTaskResult> {
  const req = parseInput(runTaskInput, input);
  const c = await requireCluster(ctx, cluster);
  const td = await launchableTaskDefinition(ctx, req.taskDefinition);
  await enforceClusterPolicy(ctx, c.name, td.spec);
  await requireSecretsExist(ctx, td.spec);
  const started = await startTasks(ctx, {
    clusterName: c.name,
    taskDefinition: td,
    count: req.count,
    group: req.group ?? `family:${td.family}`,
    startedBy: req.startedBy,
    constraints: req.placementConstraints,
    strategies: req.placementStrategy,
  });
  // Tasks placed without the image-platform check are said in failures[], as ECS says why not.
  return { tasks: started.tasks, failures: [...started.failures, ...started.notices] };
}

/** Returns a task's reservation to its instance, once (the reserved flag guards double release). */
export async function releaseReservation(ctx: OpsContext, task: TaskRow): Promise<void> {
  if (!task.reserved) return;
  // On the commit worker, in order with the placement commits (scheduling/placement-store.ts);
  // fenced when ctx is the leader's.
  const version = await ctx.placement.release(task);
  if (version === null) ctx.indexes.instanceChanged(task.instanceId);
  else ctx.indexes.taskReleased(task, version);
}

const listTasksQuery = z.object({
  desiredStatus: z.enum(DESIRED_STATUSES).optional(),
  containerInstance: z.string().optional(),
  family: z.string().optional(),
  startedBy: z.string().optional(),
});

/** ListTasks: as in ECS, without a desiredStatus filter it lists tasks desired RUNNING. */
export async function listTasks(ctx: OpsContext, cluster: string, query: unknown): Promise<TaskRow[]> {
  const q = parseInput(listTasksQuery, query);
  const c = await requireCluster(ctx, cluster);
  const conds = [eq(tasks.clusterName, c.name), eq(tasks.desiredStatus, q.desiredStatus ?? "RUNNING")];
  if (q.containerInstance) conds.push(eq(tasks.instanceId, resourceName("container-instance", "containerInstance", q.containerInstance)));
  if (q.family) conds.push(eq(tasks.family, q.family));
  if (q.startedBy) conds.push(eq(tasks.startedBy, q.startedBy));
  return ctx.db.select().from(tasks).where(and(...conds)).orderBy(desc(tasks.createdAt)).all();
}

export async function describeTask(ctx: OpsContext, cluster: string, taskIdOrArn: string): Promise<TaskRow> {
  const c = await requireCluster(ctx, cluster);
  const id = resourceName("task", "task", taskIdOrArn);
  const row = await ctx.db.select().from(tasks).where(and(eq(tasks.id, id), eq(tasks.clusterName, c.name))).get();
  if (!row) throw notFound("InvalidParameterException", `task "${id}" not found in cluster "${c.name}"`);
  return row;
}

/** The definitions of these tasks by ARN (cached revisions), for views that show what a definition says. */
export async function taskDefinitionSpecs(ctx: OpsContext, rows: readonly TaskRow[]): Promise<Map<string, TaskDefinitionSpec>> {
  const arns = [...new Set(rows.map((r) => r.taskDefinitionArn))];
  const revs = await Promise.all(arns.map((a) => taskDefinitionRevision(ctx.db, a)));
  return new Map(revs.flatMap((r) => (r ? [[r.arn, r.spec] as const] : [])));
}

export async function describeTasks(ctx: OpsContext, ids: string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  return ctx.db.select().from(tasks).where(inArray(tasks.id, ids)).all();
}

const stopTaskInput = z.strictObject({ reason: z.string().max(1024).optional() });

export async function stopTask(ctx: OpsContext, cluster: string, taskIdOrArn: string, input: unknown): Promise<TaskRow> {
  const { reason } = parseInput(stopTaskInput, input);
  const row = await describeTask(ctx, cluster, taskIdOrArn);
  const updated = await ctx.serialize(async () => {
    const current = (await ctx.db.select().from(tasks).where(eq(tasks.id, row.id)).get())!;
    if (current.desiredStatus === "STOPPED") return null;
    const now = ctx.clock.now();
    const set = {
      desiredStatus: "STOPPED" as const,
      stoppingAt: now,
      stoppedReason: reason ?? "Task stopped by user",
      stopCode: "UserInitiated",
      updatedAt: now,
    };
    await ctx.db.update(tasks).set(set).where(eq(tasks.id, row.id));
    return { ...current, ...set };
  });
  if (!updated) return row;
  ctx.desiredChanged(updated.instanceId);
  return updated;
}
