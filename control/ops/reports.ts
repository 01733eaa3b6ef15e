import { eq, inArray, sql } from "drizzle-orm";
import { MAX_TASK_EVENTS, taskHealthStatus, type ReportedContainer, type ReportedTask, type Report, type TaskEvent } from "../../shared/messages.ts";
import { isTaskStatusForward, type TaskStatus } from "../../shared/status.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { applyFacts } from "./instances.ts";
import { applyAgentUpdate } from "./agent-updates.ts";
import { applyPrefetchReport } from "./image-prefetch.ts";
import { applyIngressProblems } from "./ingress.ts";
import type { TaskContainer, TaskRow } from "../db/rows.ts";
import { releaseReservation } from "./tasks.ts";
import { appendEvents } from "../events/log.ts";
import { taskStateChange, taskStateKey, type NewEvent } from "../events/shapes.ts";

export interface ReportOutcome {
  applied: number;
  /** Tasks the report named that are not this instance's: counted, never applied. */
  foreign: number;
}

/**
 * Applies an agent's full known state. Every field only moves forward (status ranks, first
 * timestamps, first stop reason), so duplicated, reordered or replayed reports change nothing.
 */
export async function applyReport(ctx: OpsContext, instanceId: string, report: Report): Promise<ReportOutcome> {
  return (await applyReports(ctx, [{ instanceId, report }]))[0]!;
}

/** Reports per statement: well under SQLite's bound-parameter limit. */
const CHUNK = 400;

/**
 * applyReport for a burst of reports in one serialized section: one instance UPDATE and one task
 * SELECT for the whole burst, then an UPDATE per task that changed. Report by report, three
 * statements (each prepared anew by the driver) and a queue turn per report were most of the
 * control's CPU when 500 agents reported at once; now a burst costs about a statement per task.
 * Reports of one instance in the same burst apply in order.
 */
export async function applyReports(ctx: OpsContext, batch: { instanceId: string; report: Report }[]): Promise<ReportOutcome[]> {
  const metrics = ctx.metrics;
  if (!metrics) return applyReportBatch(ctx, batch);
  const end = metrics.reportApplyDuration.startTimer();
  try {
    return await applyReportBatch(ctx, batch);
  } finally {
    end();
    metrics.reportsApplied.inc(batch.length);
  }
}

async function applyReportBatch(ctx: OpsContext, batch: { instanceId: string; report: Report }[]): Promise<ReportOutcome[]> {
  for (const { instanceId, report } of batch) if (report.facts) await applyFacts(ctx, instanceId, report.facts);
  for (const { instanceId, report } of batch) if (report.agentUpdate) await applyAgentUpdate(ctx, instanceId, report.agentUpdate);
  for (const { instanceId, report } of batch) if (report.prefetches?.length) await applyPrefetchReport(ctx, instanceId, report.prefetches);
  for (const { instanceId, report } of batch) if (report.ingressProblems?.length) await applyIngressProblems(ctx, instanceId, report.ingressProblems);
  const result = await ctx.serialize(async () => {
    const now = ctx.clock.now();
    const generations = new Map<string, number>();
    for (const { instanceId, report } of batch) generations.set(instanceId, Math.max(generations.get(instanceId) ?? 0, report.generation));
    const instanceIds = [...generations.keys()];
    for (let i = 0; i < instanceIds.length; i += CHUNK) {
      const chunk = instanceIds.slice(i, i + CHUNK);
      const generation = sql.join([sql`case ${containerInstances.id}`, ...chunk.map((id) => sql`when ${id} then ${generations.get(id)!}`), sql`end`], sql` `);
      await ctx.db
        .update(containerInstances)
        .set({ reportedGeneration: sql`max(${containerInstances.reportedGeneration}, ${generation})`, lastSeenAt: now })
        .where(inArray(containerInstances.id, chunk));
    }
    const taskIds = [...new Set(batch.flatMap(({ report }) => report.tasks.map((t) => t.taskId)))];
    const rows = new Map<string, TaskRow>();
    for (let i = 0; i < taskIds.length; i += CHUNK) {
      for (const r of await ctx.db.select().from(tasks).where(inArray(tasks.id, taskIds.slice(i, i + CHUNK))).all()) rows.set(r.id, r);
    }
    const toRelease: TaskRow[] = [];
    const stateEvents: NewEvent[] = [];
    const outcomes = batch.map(({ instanceId, report }) => {
      let applied = 0;
      let foreign = 0;
      let desiredChanged = false;
      const changes: { id: string; next: Partial<TaskRow> }[] = [];
      for (const reported of report.tasks) {
        const row = rows.get(reported.taskId);
        // The topic names the sender; a task of another instance is never its to report.
        if (!row || row.instanceId !== instanceId) {
          foreign++;
          continue;
        }
        const next = mergeTask(row, reported, now);
        if (!next) continue;
        applied++;
        changes.push({ id: row.id, next });
        if (next.desiredStatus === "STOPPED" && row.desiredStatus !== "STOPPED") desiredChanged = true;
        // Later reports in this burst merge onto what this one made.
        const merged = { ...row, ...next };
        if (taskStateKey(row) !== taskStateKey(merged)) stateEvents.push(taskStateChange(merged));
        rows.set(row.id, merged);
        if (next.lastStatus === "STOPPED") toRelease.push(merged);
      }
      return { applied, foreign, desiredChanged, changes };
    });
    // The task rows and their state change events commit together: no event without its change.
    const writes = outcomes.flatMap((o) => o.changes);
    if (writes.length > 0) {
      await ctx.db.transaction(async (tx) => {
        for (const c of writes) await tx.update(tasks).set(c.next).where(eq(tasks.id, c.id));
        await appendEvents(tx, now, stateEvents);
      });
      if (stateEvents.length > 0) ctx.eventSignal?.notify();
    }
    // All at once: they reach the commit worker together and share one transaction.
    await Promise.all(toRelease.map((t) => releaseReservation(ctx, t)));
    return outcomes;
  });
  const changedInstances = new Set<string>();
  let anyApplied = false;
  result.forEach((o, i) => {
    if (o.desiredChanged) changedInstances.add(batch[i]!.instanceId);
    if (o.applied) {
      anyApplied = true;
      ctx.changes?.emit({ kind: "tasks", instanceId: batch[i]!.instanceId });
    }
  });
  for (const id of changedInstances) ctx.desiredChanged(id);
  if (anyApplied) ctx.servicesChanged?.();
  return result.map((o) => ({ applied: o.applied, foreign: o.foreign }));
}

/** The row update a reported task implies, or null when it says nothing new. */
export function mergeTask(row: TaskRow, reported: ReportedTask, now: number): Partial<TaskRow> | null {
  const lastStatus: TaskStatus = isTaskStatusForward(row.lastStatus, reported.knownStatus) ? reported.knownStatus : row.lastStatus;
  const containers = mergeContainers(row.containers as TaskContainer[], reported.containers);
  const next: Partial<TaskRow> = {
    lastStatus,
    containers,
    // ECS's rule over the containers as stored (the scheduler and the endpoints read this column).
    healthStatus: taskHealthStatus(containers),
    startedAt: row.startedAt ?? (lastStatus === "RUNNING" || reported.startedAt ? (reported.startedAt ?? now) : null),
    stoppingAt: row.stoppingAt ?? (lastStatus === "STOPPING" || lastStatus === "STOPPED" ? (reported.stoppingAt ?? now) : null),
    stoppedAt: row.stoppedAt ?? (lastStatus === "STOPPED" ? (reported.stoppedAt ?? now) : null),
  };
  if (reported.events?.length) next.events = mergeEvents(row.events ?? [], reported.events);
  if (lastStatus === "STOPPED") {
    next.desiredStatus = "STOPPED";
    next.stoppedReason = row.stoppedReason ?? reported.stoppedReason ?? null;
    next.stopCode = row.stopCode ?? reported.stopCode ?? null;
  }
  const changed = (Object.keys(next) as (keyof TaskRow)[]).some((k) => JSON.stringify(next[k]) !== JSON.stringify(row[k]));
  if (!changed) return null;
  next.updatedAt = now;
  return next;
}

/**
 * Union of the stored and reported events, oldest first, the newest MAX_TASK_EVENTS kept: a
 * replayed or reordered report adds nothing, and events the agent has already dropped stay.
 */
export function mergeEvents(stored: TaskEvent[], reported: TaskEvent[]): TaskEvent[] {
  const seen = new Set<string>();
  const all = [...stored, ...reported].filter((e) => {
    const key = `${e.at}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  all.sort((a, b) => a.at - b.at);
  return all.slice(-MAX_TASK_EVENTS);
}

const CONTAINER_RANK = { PENDING: 0, RUNNING: 1, STOPPED: 2 } as const;

function ecsContainerStatus(s: ReportedContainer["status"]): TaskContainer["lastStatus"] {
  return s === "RUNNING" ? "RUNNING" : s === "STOPPED" ? "STOPPED" : "PENDING";
}

/** Fields the agent observes over time (health flips both ways): the latest report wins. */
type ObservedFields = Pick<ReportedContainer, "essential" | "healthStatus" | "restartCount" | "networkBindings" | "networkInterfaces">;

function observed(c: TaskContainer & ObservedFields, r: ReportedContainer): ObservedFields {
  return {
    essential: r.essential ?? c.essential,
    healthStatus: r.healthStatus ?? c.healthStatus,
    restartCount: Math.max(r.restartCount ?? 0, c.restartCount ?? 0) || undefined,
    networkBindings: r.networkBindings ?? c.networkBindings,
    networkInterfaces: r.networkInterfaces ?? c.networkInterfaces,
  };
}

function mergeContainers(current: (TaskContainer & ObservedFields)[], reported: ReportedContainer[]): (TaskContainer & ObservedFields)[] {
  const byName = new Map(reported.map((c) => [c.name, c]));
  return current.map((c) => {
    const r = byName.get(c.name);
    if (!r) return c;
    const status = ecsContainerStatus(r.status);
    const forward = CONTAINER_RANK[status] >= CONTAINER_RANK[c.lastStatus];
    if (!forward) return c;
    const merged = {
      ...c,
      lastStatus: status,
      runtimeId: r.runtimeId ?? c.runtimeId,
      exitCode: c.exitCode ?? r.exitCode,
      reason: c.reason ?? r.reason,
      ...observed(c, r),
    };
    return status === "STOPPED" ? stoppedHealth(merged) : merged;
  });
}

/**
 * A stopped container with a health check is UNHEALTHY: Docker marks it so when its health monitor
 * stops, and amazon-ecs-agent records that inspect at the STOPPED transition. The agent may still
 * carry the last reading it took while the container ran (HEALTHY); a stopped one never shows it.
 */
function stoppedHealth<C extends { healthStatus?: ReportedContainer["healthStatus"] }>(c: C): C {
  return c.healthStatus === undefined ? c : { ...c, healthStatus: "UNHEALTHY" };
}
