import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { arn } from "../../shared/arn.ts";
import { taskReservation, type Reservation } from "../../shared/task-definition/index.ts";
import { DESIRED_STATUSES } from "../../shared/status.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { placeFirstFit } from "../scheduling/first-fit.ts";
import { loadClusterSnapshot } from "../scheduling/snapshot.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { notFound } from "./errors.ts";
import { resolveTaskDefinition, specOf } from "./task-definitions.ts";
import { parseInput } from "./validate.ts";

export type TaskRow = typeof tasks.$inferSelect;

/** ECS-shaped container entry stored on a task. */
export interface TaskContainer {
  name: string;
  image: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
}

const runTaskInput = z.strictObject({
  taskDefinition: z.string().min(1),
  count: z.number().int().min(1).max(10).default(1),
  startedBy: z.string().max(128).optional(),
  group: z.string().max(255).optional(),
});

export interface RunTaskResult {
  tasks: TaskRow[];
  failures: { arn?: string; reason: string; detail: string }[];
}

const COMMIT_ATTEMPTS = 5;

/**
 * RunTask: resolve the definition, place on a snapshot, then commit. The commit bumps each chosen
 * instance's version only if it is still the version placement saw, so concurrent callers (or a
 * second control process) can never oversubscribe an instance; a lost race places again.
 */
export async function runTask(ctx: OpsContext, cluster: string, input: unknown): Promise<RunTaskResult> {
  const req = parseInput(runTaskInput, input);
  const c = await requireCluster(ctx, cluster);
  const td = await resolveTaskDefinition(ctx, req.taskDefinition);
  if (td.status !== "ACTIVE" && !req.taskDefinition.includes(":")) {
    throw notFound("ClientException", `task definition "${req.taskDefinition}" is INACTIVE`);
  }
  const spec = specOf(td);
  const reservation = taskReservation(spec);
  const group = req.group ?? `family:${td.family}`;

  for (let attempt = 1; ; attempt++) {
    const result = await ctx.serialize(async () => {
      const snapshot = await loadClusterSnapshot(ctx, c.name);
      const outcome = placeFirstFit(snapshot, reservation, req.count);
      const versions = new Map(snapshot.map((i) => [i.id, i.version]));
      const now = ctx.clock.now();
      const rows: TaskRow[] = outcome.placements.map((p) => {
        const id = newId();
        return {
          id,
          clusterName: c.name,
          arn: arn.task(c.name, id),
          instanceId: p.instanceId,
          family: td.family,
          revision: td.revision,
          taskDefinitionArn: td.arn,
          group,
          startedBy: req.startedBy ?? null,
          desiredStatus: "RUNNING",
          lastStatus: "PROVISIONING",
          containers: spec.containerDefinitions.map(
            (cd): TaskContainer => ({ name: cd.name, image: cd.image, lastStatus: "PENDING" }),
          ),
          reservation,
          reserved: true,
          createdAt: now,
          startedAt: null,
          stoppingAt: null,
          stoppedAt: null,
          stoppedReason: null,
          stopCode: null,
          updatedAt: now,
        };
      });
      const committed = await ctx.db.transaction(async (tx) => {
        for (const row of rows) {
          const expected = versions.get(row.instanceId)!;
          const res = await tx
            .update(containerInstances)
            .set({
              usedCpu: sql`${containerInstances.usedCpu} + ${reservation.cpu}`,
              usedMemory: sql`${containerInstances.usedMemory} + ${reservation.memory}`,
              usedPorts: sql`json_object('tcp', json(${portsAfterReserve("tcp", reservation)}), 'udp', json(${portsAfterReserve("udp", reservation)}))`,
              version: expected + 1,
            })
            .where(and(eq(containerInstances.id, row.instanceId), eq(containerInstances.version, expected)));
          if (res.rowsAffected !== 1) {
            tx.rollback();
          }
          versions.set(row.instanceId, expected + 1);
        }
        if (rows.length) await tx.insert(tasks).values(rows);
        return true;
      }).catch((e: unknown) => {
        if (e instanceof Error && e.name === "TransactionRollbackError") return false;
        throw e;
      });
      return committed ? { rows, outcome } : null;
    });
    if (result) {
      for (const id of new Set(result.rows.map((r) => r.instanceId))) ctx.desiredChanged(id);
      return {
        tasks: result.rows,
        failures: result.outcome.failures.map((f) => ({ reason: f.reason, detail: f.detail, arn: td.arn })),
      };
    }
    if (attempt >= COMMIT_ATTEMPTS) throw new Error("placement commit kept conflicting; try again");
  }
}

/**
 * SQL fragment producing the port list after adding this reservation's ports; computed in SQL so
 * the update applies to whatever the row holds at commit time.
 */
function portsAfterReserve(proto: "tcp" | "udp", r: Reservation) {
  const add = proto === "tcp" ? r.tcpPorts : r.udpPorts;
  if (add.length === 0) return sql`json_extract(${containerInstances.usedPorts}, ${"$." + proto})`;
  return sql`(select json_group_array(value) from (select value from json_each(json_extract(${containerInstances.usedPorts}, ${"$." + proto})) union select value from json_each(${JSON.stringify(add)})))`;
}

function portsAfterRelease(proto: "tcp" | "udp", r: Reservation) {
  const remove = proto === "tcp" ? r.tcpPorts : r.udpPorts;
  if (remove.length === 0) return sql`json_extract(${containerInstances.usedPorts}, ${"$." + proto})`;
  return sql`(select json_group_array(value) from json_each(json_extract(${containerInstances.usedPorts}, ${"$." + proto})) where value not in (select value from json_each(${JSON.stringify(remove)})))`;
}

/** Returns a task's reservation to its instance, once (the reserved flag guards double release). */
export async function releaseReservation(ctx: OpsContext, task: TaskRow): Promise<void> {
  if (!task.reserved) return;
  const r = task.reservation;
  await ctx.db.transaction(async (tx) => {
    const res = await tx.update(tasks).set({ reserved: false }).where(and(eq(tasks.id, task.id), eq(tasks.reserved, true)));
    if (res.rowsAffected !== 1) return;
    await tx
      .update(containerInstances)
      .set({
        usedCpu: sql`max(0, ${containerInstances.usedCpu} - ${r.cpu})`,
        usedMemory: sql`max(0, ${containerInstances.usedMemory} - ${r.memory})`,
        usedPorts: sql`json_object('tcp', json(${portsAfterRelease("tcp", r)}), 'udp', json(${portsAfterRelease("udp", r)}))`,
        version: sql`${containerInstances.version} + 1`,
      })
      .where(eq(containerInstances.id, task.instanceId));
  });
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
  if (q.containerInstance) conds.push(eq(tasks.instanceId, q.containerInstance.slice(q.containerInstance.lastIndexOf("/") + 1)));
  if (q.family) conds.push(eq(tasks.family, q.family));
  if (q.startedBy) conds.push(eq(tasks.startedBy, q.startedBy));
  return ctx.db.select().from(tasks).where(and(...conds)).orderBy(desc(tasks.createdAt)).all();
}

export async function describeTask(ctx: OpsContext, cluster: string, taskIdOrArn: string): Promise<TaskRow> {
  const c = await requireCluster(ctx, cluster);
  const id = taskIdOrArn.slice(taskIdOrArn.lastIndexOf("/") + 1);
  const row = await ctx.db.select().from(tasks).where(and(eq(tasks.id, id), eq(tasks.clusterName, c.name))).get();
  if (!row) throw notFound("InvalidParameterException", `task "${id}" not found in cluster "${c.name}"`);
  return row;
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
