import { appendEvents } from "../events/log.ts";
import { serviceAction } from "../events/shapes.ts";
import { and, desc, eq } from "drizzle-orm";
import { tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { DeploymentRow, ServiceRow } from "../db/rows.ts";
import type { TaskDefinitionRevision } from "../db/task-definition-revisions.ts";
import type { InstanceView, PlacementConstraint } from "../placement/index.ts";
import { startTasks } from "../scheduling/start-tasks.ts";
import { launchDelayMs } from "./deployment-math.ts";
import { addServiceEvent, latestServiceEventContaining, taskList } from "./events.ts";
import { constraintsOf, serviceGroup, strategiesOf } from "./store.ts";
import { isLaunchFailure } from "./task-health.ts";
import { latencyTrace } from "../latency-trace.ts";

const REASON_MEMBER_OF = "MemberOf placement constraint unsatisfied";

/** ECS caps RunTask at 10 tasks per call; the scheduler launches in calls of that size. */
const LAUNCH_BATCH = 10;
/** Stopped tasks looked at to count consecutive launch failures. */
const THROTTLE_WINDOW = 12;

export interface LaunchResult {
  started: string[];
  /** Placement failure reasons (ECS reason strings), one per task not placed. */
  failures: { reason: string; detail: string }[];
}

/**
 * Starts `count` tasks of a deployment through the one placement path RunTask uses, and records
 * ECS-style events: started tasks, or why a task could not be placed. `quietFailures` keeps
 * expected refusals (a daemon probing an instance that does not match) out of the events.
 */
export async function launchTasks(
  ctx: OpsContext,
  svc: ServiceRow,
  dep: DeploymentRow,
  td: TaskDefinitionRevision,
  count: number,
  opts: {
    extraConstraints?: PlacementConstraint[];
    quietFailures?: (reason: string) => boolean;
    /** Only hosts this admits (deployment windows: hosts inside their window now). */
    admit?: (instance: InstanceView) => boolean;
  } = {},
): Promise<LaunchResult> {
  const started: string[] = [];
  const failures: LaunchResult["failures"] = [];
  const notices = new Set<string>();
  const t0 = performance.now();
  for (let left = count; left > 0; ) {
    const n = Math.min(LAUNCH_BATCH, left);
    left -= n;
    const res = await startTasks(ctx, {
      clusterName: svc.clusterName,
      taskDefinition: td,
      count: n,
      group: serviceGroup(svc.serviceName),
      startedBy: dep.id,
      serviceName: svc.serviceName,
      deploymentId: dep.id,
      constraints: [...constraintsOf(svc), ...(opts.extraConstraints ?? [])],
      strategies: strategiesOf(svc),
      admit: opts.admit,
    });
    started.push(...res.tasks.map((t) => t.id));
    failures.push(...res.failures.map((f) => ({ reason: f.reason, detail: f.detail })));
    for (const n of res.notices) notices.add(n.detail);
    if (res.failures.length) break;
  }
  if (latencyTrace.enabled) latencyTrace.event("serviceLaunch", { service: svc.serviceName, asked: count, started: started.length, failures: failures.length, firstFailure: failures[0]?.reason, ms: performance.now() - t0 });
  if (started.length) {
    await addServiceEvent(ctx, svc.clusterName, svc.serviceName, `(service ${svc.serviceName}) has started ${started.length} tasks: ${taskList(started)}.`);
  }
  // Said after the tasks it is about, so the newest event tells the state of the last launch.
  for (const detail of notices) {
    await addServiceEvent(ctx, svc.clusterName, svc.serviceName, `(service ${svc.serviceName}) could not check the platform of an image: ${detail}.`);
  }
  const reported = failures.filter((f) => !opts.quietFailures?.(f.reason));
  if (reported.length) {
    const f = reported[0]!;
    const said = await addServiceEvent(
      ctx,
      svc.clusterName,
      svc.serviceName,
      `(service ${svc.serviceName}) was unable to place a task because no container instance met all of its requirements. Reason: ${f.reason}${f.detail ? ` (${f.detail})` : ""}${opts.admit && f.reason === REASON_MEMBER_OF ? " (only container instances inside their deployment window were considered)" : ""}.`,
    );
    // Once per condition, as the service event is (a failure that persists across rounds says so once).
    if (said) {
      const now = ctx.clock.now();
      const reasons = [...new Set(reported.map((r) => r.reason))];
      await ctx.serialize(() => appendEvents(ctx.db, now, [serviceAction(svc.clusterName, svc.serviceName, "SERVICE_TASK_PLACEMENT_FAILURE", "WARN", now, { reasons })], ctx.eventSignal));
    }
  }
  return { started, failures };
}

/**
 * ECS-style launch throttle, derived from stored tasks (so it survives restarts): after k
 * consecutive tasks that failed to launch, no new launch before the last failure + delay(k).
 * Returns the time launching may resume, or 0 when it is not throttled.
 */
export async function launchAllowedAt(ctx: OpsContext, svc: ServiceRow): Promise<number> {
  const recent = await ctx.db
    .select({ stopCode: tasks.stopCode, stoppedReason: tasks.stoppedReason, startedAt: tasks.startedAt, stoppedAt: tasks.stoppedAt })
    .from(tasks)
    .where(and(eq(tasks.clusterName, svc.clusterName), eq(tasks.serviceName, svc.serviceName), eq(tasks.lastStatus, "STOPPED")))
    .orderBy(desc(tasks.stoppedAt))
    .limit(THROTTLE_WINDOW)
    .all();
  let k = 0;
  while (k < recent.length && isLaunchFailure(recent[k]!)) k++;
  if (k === 0) return 0;
  return (recent[0]!.stoppedAt ?? 0) + launchDelayMs(k);
}

const THROTTLE_PREFIX = "is unable to consistently start tasks successfully. Retrying in ";

/**
 * One event per retry decision, not per reconcile tick: the decision is its resume time (derived
 * from stored tasks, so it is the same every tick until another launch fails). The newest throttle
 * event said "Retrying in N seconds" at createdAt, i.e. about createdAt + N s; when that is this
 * resumeAt (within the rounding second) it was already said. Otherwise a countdown would add an
 * event a second and push the real ones out of the 100 kept.
 */
export async function throttledEvent(ctx: OpsContext, svc: ServiceRow, resumeAt: number): Promise<void> {
  const now = ctx.clock.now();
  const seconds = Math.max(1, Math.ceil((resumeAt - now) / 1000));
  const last = await latestServiceEventContaining(ctx, svc.clusterName, svc.serviceName, THROTTLE_PREFIX);
  if (last) {
    const said = Number(/Retrying in (\d+) seconds/.exec(last.message)?.[1]);
    if (Number.isFinite(said) && Math.abs(last.createdAt + said * 1000 - resumeAt) < 1000) return;
  }
  await addServiceEvent(ctx, svc.clusterName, svc.serviceName, `(service ${svc.serviceName}) ${THROTTLE_PREFIX}${seconds} seconds.`);
}
