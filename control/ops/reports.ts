import { and, eq, inArray, sql } from "drizzle-orm";
import { MAX_TASK_EVENTS, type ReportedContainer, type ReportedTask, type Report, type TaskEvent } from "../../shared/messages.ts";
import { isTaskStatusForward, type TaskStatus } from "../../shared/status.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { applyFacts } from "./instances.ts";
import { releaseReservation, type TaskContainer, type TaskRow } from "./tasks.ts";

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
  if (report.facts) await applyFacts(ctx, instanceId, report.facts);
  const outcome = await ctx.serialize(async () => {
    await ctx.db
      .update(containerInstances)
      .set({
        reportedGeneration: sql`max(${containerInstances.reportedGeneration}, ${report.generation})`,
        lastSeenAt: ctx.clock.now(),
      })
      .where(eq(containerInstances.id, instanceId));
    const ids = report.tasks.map((t) => t.taskId);
    const rows = ids.length
      ? await ctx.db.select().from(tasks).where(and(inArray(tasks.id, ids), eq(tasks.instanceId, instanceId))).all()
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    let applied = 0;
    let desiredChanged = false;
    const toRelease: TaskRow[] = [];
    for (const reported of report.tasks) {
      const row = byId.get(reported.taskId);
      if (!row) continue;
      const next = mergeTask(row, reported, ctx.clock.now());
      if (!next) continue;
      applied++;
      await ctx.db.update(tasks).set(next).where(eq(tasks.id, row.id));
      if (next.desiredStatus === "STOPPED" && row.desiredStatus !== "STOPPED") desiredChanged = true;
      if (next.lastStatus === "STOPPED") toRelease.push({ ...row, ...next });
    }
    for (const t of toRelease) await releaseReservation(ctx, t);
    return { applied, foreign: report.tasks.length - byId.size, desiredChanged };
  });
  if (outcome.desiredChanged) ctx.desiredChanged(instanceId);
  if (outcome.applied) ctx.servicesChanged?.();
  return { applied: outcome.applied, foreign: outcome.foreign };
}

/** The row update a reported task implies, or null when it says nothing new. */
export function mergeTask(row: TaskRow, reported: ReportedTask, now: number): Partial<TaskRow> | null {
  const lastStatus: TaskStatus = isTaskStatusForward(row.lastStatus, reported.knownStatus) ? reported.knownStatus : row.lastStatus;
  const containers = mergeContainers(row.containers as TaskContainer[], reported.containers);
  const next: Partial<TaskRow> = {
    lastStatus,
    containers,
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
    return {
      ...c,
      lastStatus: status,
      runtimeId: r.runtimeId ?? c.runtimeId,
      exitCode: c.exitCode ?? r.exitCode,
      reason: c.reason ?? r.reason,
      ...observed(c, r),
    };
  });
}
