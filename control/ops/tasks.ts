import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { appendEvents } from "../events/log.ts";
import { taskStateChange } from "../events/shapes.ts";
import { DESIRED_STATUSES } from "../../shared/status.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { arn } from "../../shared/arn.ts";
import { applyTaskOverrides, overridesDefinition, taskOverrideSchema } from "../../shared/task-definition/overrides.ts";
import type { TaskRow } from "../db/rows.ts";
import { containerInstances, services, tasks } from "../db/schema.ts";
import { placementConstraintsSchema, placementStrategiesSchema } from "../placement/index.ts";
import { startTasks, type StartTasksRequest } from "../scheduling/start-tasks.ts";
import { onceForToken, requestDigest } from "./client-tokens.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { MAX_TAGS, readTags, tagsSchema, writeTags } from "./tag-store.ts";
import { resourceName } from "./references.ts";
import { launchableTaskDefinition } from "./task-definitions.ts";
import { parseInput } from "./validate.ts";
import { deactivateTasks, serviceDeregistrationDelayMs } from "../services/deactivation.ts";
import { enforceClusterPolicy } from "./policy.ts";
import { requireSecretsExist } from "./secrets.ts";

/** ECS's launch types (LaunchType in its model); Flotilla runs EXTERNAL only. */
export const LAUNCH_TYPES = ["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"] as const;

/** What RunTask and StartTask share: the definition, how the tasks are labelled, overrides, tags. */
const launchMembers = {
  taskDefinition: z.string().min(1),
  startedBy: z.string().max(128).optional(),
  group: z.string().max(255).optional(),
  overrides: taskOverrideSchema.optional(),
  tags: tagsSchema.optional(),
  /** ECS: TASK_DEFINITION copies the definition's tags to the tasks; SERVICE is refused for a standalone task. */
  propagateTags: z.enum(["TASK_DEFINITION", "NONE"]).optional(),
};

const runTaskInput = z.strictObject({
  ...launchMembers,
  count: z.number().int().min(1).max(10).default(1),
  placementConstraints: placementConstraintsSchema.optional(),
  placementStrategy: placementStrategiesSchema.optional(),
  launchType: z.enum(LAUNCH_TYPES).optional(),
  /** Idempotency: ECS's up to 64 ASCII characters. */
  clientToken: z.string().min(1).max(64).regex(/^[\x20-\x7e]+$/, "must be printable ASCII").optional(),
});

const startTaskInput = z.strictObject({
  ...launchMembers,
  containerInstances: z.array(z.string().min(1)).min(1, "must name at least one").max(10, "at most 10"),
});

export interface RunTaskResult {
  tasks: TaskRow[];
  failures: { arn?: string; reason: string; detail?: string }[];
}

/** A launch's definition, checked the same way for RunTask and StartTask. */
async function prepareLaunch(ctx: OpsContext, clusterName: string, req: z.infer<z.ZodObject<typeof launchMembers>>) {
  const td = await launchableTaskDefinition(ctx, req.taskDefinition);
  await enforceClusterPolicy(ctx, clusterName, td.spec);
  await requireSecretsExist(ctx, td.spec);
  let overrides: StartTasksRequest["overrides"];
  if (req.overrides && overridesDefinition(req.overrides)) {
    const applied = applyTaskOverrides(td.spec, req.overrides);
    if (!applied.ok) throw invalid(applied.issues.map((f) => `${f.path}: ${f.message}`).join("; "), applied.issues);
    overrides = { request: req.overrides, spec: applied.spec };
  }
  const tags = [...(req.propagateTags === "TASK_DEFINITION" ? await readTags(ctx.db, td.arn) : []), ...(req.tags ?? [])];
  // Checked before anything starts: the tags are written once the tasks exist.
  if (new Set(tags.map((t) => t.key)).size > MAX_TAGS) {
    throw invalid(`tags: with the task definition's, more than ${MAX_TAGS} tags`, [{ path: "tags", message: `at most ${MAX_TAGS} tags per resource` }]);
  }
  return { td, overrides, tags };
}

/** The tasks' tags, written once they exist (TagResource finds them; include TAGS shows them). */
async function tagTasks(ctx: OpsContext, rows: TaskRow[], tags: { key: string; value?: string }[]): Promise<void> {
  if (tags.length === 0 || rows.length === 0) return;
  await ctx.serialize(() => ctx.db.transaction(async (tx) => {
    for (const row of rows) await writeTags(tx, row.arn, tags);
  }));
}

/**
 * RunTask: validate (memberOf expressions are parsed here, so errors are 400s), then place and
 * commit. Flotilla's instances are ECS Anywhere's EXTERNAL ones, so another launch type finds no
 * capacity: it is refused naming the member rather than answered with a task that never starts.
 * With a clientToken, a repeat of the same request returns the first call's tasks (client-tokens.ts).
 */
export async function runTask(ctx: OpsContext, cluster: string, input: unknown): Promise<RunTaskResult> {
  if (!ctx.metrics) return runTaskUntimed(ctx, cluster, input);
  const end = ctx.metrics.runTaskDuration.startTimer();
  try {
    const result = await runTaskUntimed(ctx, cluster, input);
    end({ outcome: result.tasks.length > 0 ? "placed" : "not-placed" });
    return result;
  } catch (e) {
    end({ outcome: "error" });
    throw e;
  }
}

async function runTaskUntimed(ctx: OpsContext, cluster: string, input: unknown): Promise<RunTaskResult> {
  const req = parseInput(runTaskInput, input);
  if (req.launchType !== undefined && req.launchType !== "EXTERNAL") {
    throw invalid(`launchType: ${req.launchType} is not available; Flotilla's container instances are EXTERNAL`, [
      { path: "launchType", message: "must be EXTERNAL (or absent)" },
    ]);
  }
  const c = await requireCluster(ctx, cluster);
  const launch = async (clientToken?: StartTasksRequest["clientToken"]): Promise<RunTaskResult> => {
    const { td, overrides, tags } = await prepareLaunch(ctx, c.name, req);
    const started = await startTasks(ctx, {
      clusterName: c.name,
      taskDefinition: td,
      count: req.count,
      group: req.group ?? `family:${td.family}`,
      startedBy: req.startedBy,
      constraints: req.placementConstraints,
      strategies: req.placementStrategy,
      overrides,
      clientToken,
    });
    await tagTasks(ctx, started.tasks, tags);
    // Tasks placed without the image-platform check are said in failures[], as ECS says why not.
    return { tasks: started.tasks, failures: [...started.failures, ...started.notices] };
  };
  if (req.clientToken === undefined) return launch();
  const { clientToken: token, ...rest } = req;
  const digest = requestDigest(c.name, rest);
  return onceForToken(ctx, c.name, token, digest, () => launch({ token, request: digest }));
}

/**
 * StartTask: one task on each named container instance, placed there or nowhere (the instance's
 * own refusal is the failure: RESOURCE:MEMORY, AGENT; an instance the cluster does not have is
 * MISSING). The same checks and commit as RunTask.
 */
export async function startTask(ctx: OpsContext, cluster: string, input: unknown): Promise<RunTaskResult> {
  const req = parseInput(startTaskInput, input);
  const c = await requireCluster(ctx, cluster);
  const ids = req.containerInstances.map((ref, i) => resourceName("container-instance", `containerInstances[${i}]`, ref));
  const { td, overrides, tags } = await prepareLaunch(ctx, c.name, req);
  const known = new Set(
    (
      await ctx.db
        .select({ id: containerInstances.id })
        .from(containerInstances)
        .where(and(eq(containerInstances.clusterName, c.name), inArray(containerInstances.id, ids)))
        .all()
    ).map((r) => r.id),
  );
  const out: RunTaskResult = { tasks: [], failures: [] };
  for (const id of ids) {
    const instanceArn = arn.containerInstance(c.name, id);
    if (!known.has(id)) {
      out.failures.push({ arn: instanceArn, reason: "MISSING", detail: `no container instance "${id}" in cluster "${c.name}"` });
      continue;
    }
    const started = await startTasks(ctx, {
      clusterName: c.name,
      taskDefinition: td,
      count: 1,
      group: req.group ?? `family:${td.family}`,
      startedBy: req.startedBy,
      overrides,
      onInstance: id,
    });
    out.tasks.push(...started.tasks);
    out.failures.push(...started.failures.map((f) => ({ arn: instanceArn, reason: f.reason, detail: f.detail })), ...started.notices);
  }
  await tagTasks(ctx, out.tasks, tags);
  return out;
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
  // ECS's DesiredStatus has PENDING, which no task is ever desired to be: it lists nothing.
  desiredStatus: z.enum(["RUNNING", "PENDING", "STOPPED"]).optional(),
  containerInstance: z.string().optional(),
  family: z.string().optional(),
  startedBy: z.string().optional(),
  serviceName: z.string().optional(),
  launchType: z.enum(LAUNCH_TYPES).optional(),
});

/**
 * ListTasks with ECS's filters, newest first. As in ECS, without a desiredStatus filter it lists
 * tasks desired RUNNING; a service that does not exist is ServiceNotFoundException; every task is
 * EXTERNAL, so another launchType lists none.
 */
export async function listTasks(ctx: OpsContext, cluster: string, query: unknown): Promise<TaskRow[]> {
  const q = parseInput(listTasksQuery, query);
  const c = await requireCluster(ctx, cluster);
  if (q.serviceName !== undefined) {
    const name = resourceName("service", "serviceName", q.serviceName);
    const svc = await ctx.db.select({ status: services.status }).from(services).where(and(eq(services.clusterName, c.name), eq(services.serviceName, name))).get();
    if (!svc || svc.status === "INACTIVE") throw notFound("ServiceNotFoundException", `service "${name}" not found in cluster "${c.name}"`);
  }
  const desired = q.desiredStatus ?? "RUNNING";
  if (desired === "PENDING" || (q.launchType !== undefined && q.launchType !== "EXTERNAL")) return [];
  const conds = [eq(tasks.clusterName, c.name), eq(tasks.desiredStatus, desired)];
  if (q.containerInstance) conds.push(eq(tasks.instanceId, resourceName("container-instance", "containerInstance", q.containerInstance)));
  if (q.family) conds.push(eq(tasks.family, q.family));
  if (q.startedBy) conds.push(eq(tasks.startedBy, q.startedBy));
  if (q.serviceName) conds.push(eq(tasks.serviceName, resourceName("service", "serviceName", q.serviceName)));
  return ctx.db.select().from(tasks).where(and(...conds)).orderBy(desc(tasks.createdAt), desc(tasks.id)).all();
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

/** DescribeTasks: the cluster's tasks among `refs` (ids or ARNs) in the order asked, and the refs it does not have. */
export async function describeTasksIn(ctx: OpsContext, cluster: string, refs: string[]): Promise<{ tasks: TaskRow[]; missing: string[] }> {
  const c = await requireCluster(ctx, cluster);
  const ids = refs.map((ref, i) => resourceName("task", `tasks[${i}]`, ref));
  const rows = ids.length ? await ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, c.name), inArray(tasks.id, ids))).all() : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: { tasks: TaskRow[]; missing: string[] } = { tasks: [], missing: [] };
  ids.forEach((id, i) => {
    const row = byId.get(id);
    if (row) out.tasks.push(row);
    else out.missing.push(refs[i]!);
  });
  return out;
}

const stopTaskInput = z.strictObject({ reason: z.string().max(1024).optional() });

export async function stopTask(ctx: OpsContext, cluster: string, taskIdOrArn: string, input: unknown): Promise<TaskRow> {
  const { reason } = parseInput(stopTaskInput, input);
  const row = await describeTask(ctx, cluster, taskIdOrArn);
  // A RUNNING task of a service with ingress leaves the answers first (deregistration delay); a
  // second StopTask of a deactivating task stops it at once.
  if (row.serviceName && row.lastStatus === "RUNNING" && row.desiredStatus === "RUNNING" && row.deactivatingAt == null) {
    const svc = await ctx.db.select({ ingress: services.ingress }).from(services).where(and(eq(services.clusterName, row.clusterName), eq(services.serviceName, row.serviceName))).get();
    const delayMs = svc ? serviceDeregistrationDelayMs(svc) : 0;
    if ((await deactivateTasks(ctx, [row.id], delayMs, reason ?? "Task stopped by user", "UserInitiated")).length) {
      ctx.servicesChanged?.();
      return (await ctx.db.select().from(tasks).where(eq(tasks.id, row.id)).get())!;
    }
  }
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
    const next = { ...current, ...set };
    await ctx.db.transaction(async (tx) => {
      await tx.update(tasks).set(set).where(eq(tasks.id, row.id));
      await appendEvents(tx, now, [taskStateChange(next)]);
    });
    ctx.eventSignal?.notify();
    return next;
  });
  if (!updated) return row;
  ctx.desiredChanged(updated.instanceId);
  return updated;
}
