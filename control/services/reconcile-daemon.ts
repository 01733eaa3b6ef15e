import { and, eq, isNull, notInArray, or } from "drizzle-orm";
import { tasks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { ServiceInstance } from "./cluster-view.ts";
import { INSTANCE_ID_ATTRIBUTE } from "../placement/index.ts";
import { addServiceEvent, taskList } from "./events.ts";
import { launchAllowedAt, launchTasks, throttledEvent } from "./launch.ts";
import { maximumTasks } from "./deployment-math.ts";
import { syncPrimaryDesired } from "./rollout-state.ts";
import { hostOpen, recordWaitingHosts, waitingHostsOf } from "./window-hold.ts";
import { waitsForPrefetch } from "./prefetch-gate.ts";
import { finishRound, type RoundOutcome } from "./round-end.ts";
import type { ClassifiedTask, ClusterView, ServiceSnapshot } from "./snapshot.ts";
import { stopServiceTasks } from "./stop-tasks.ts";
import { LOST_REASON } from "./task-health.ts";
import { serviceDeregistrationDelayMs } from "./deactivation.ts";

/** Refusals that mean "this instance is not for this daemon", not "something is wrong". */
const NOT_MATCHING = new Set(["MemberOf placement constraint unsatisfied", "ATTRIBUTE", "AGENT"]);

/**
 * Instances known not to match a daemon's constraints, keyed by service/deployment/instance and
 * remembered with the instance attributes they were judged on, so each is probed once.
 */
const notMatching = new Map<string, string>();

/**
 * One round for a DAEMON service: exactly one primary task on every ACTIVE, connected instance
 * that matches the constraints. A daemon task moves to a new revision by stopping the old copy
 * first (maximumPercent 100, ECS's daemon default: the new copy starts once the old one has
 * STOPPED, not merely been asked to stop) or starting the new one first (200).
 * A DRAINING instance keeps its daemon tasks until its other tasks are gone; a disconnected one
 * keeps them (nothing to move: the daemon is per instance).
 */
export async function reconcileDaemon(ctx: OpsContext, snap: ServiceSnapshot, view: ClusterView): Promise<RoundOutcome> {
  const { svc, cfg, primary } = snap;
  const name = svc.serviceName;
  const stopped = new Set<string>();
  const stop = async (list: ClassifiedTask[], reason: string) => {
    const ids = await stopServiceTasks(ctx, list.map((t) => t.task.id), reason, reason === LOST_REASON ? 0 : serviceDeregistrationDelayMs(svc));
    for (const id of ids) stopped.add(id);
    if (ids.length) await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) has stopped ${ids.length} running tasks: ${taskList(ids)}.`);
  };

  const byInstance = new Map<string, ClassifiedTask[]>();
  for (const t of snap.tasks) byInstance.set(t.task.instanceId, [...(byInstance.get(t.task.instanceId) ?? []), t]);
  const stoppingOn = new Map<string, number>();
  for (const t of snap.stopping) stoppingOn.set(t.task.instanceId, (stoppingOn.get(t.task.instanceId) ?? 0) + 1);
  // maximumPercent of a one-per-instance service, per instance: below 200, one copy at a time
  // (tasks still stopping included), so the old copy goes first.
  const perInstance = Math.max(1, maximumTasks(1, cfg.maximumPercent));
  const stopFirst = perInstance < 2;

  // deploymentConfiguration.prefetch: old copies stay until the new revision's images are on the hosts.
  const prefetching = await waitsForPrefetch(ctx, snap);
  let wanted = 0;
  let started = 0;
  let resumeAt: number | undefined;
  const toStop: ClassifiedTask[] = [];
  const waiting: string[] = [];
  for (const inst of view.instances.values()) {
    const here = byInstance.get(inst.id) ?? [];
    if (inst.status === "INACTIVE") continue;
    if (svc.status !== "ACTIVE") {
      toStop.push(...here);
      continue;
    }
    if (inst.status === "DRAINING") {
      if (here.length && !(await hasOtherTasks(ctx, inst, view.daemonServices))) toStop.push(...here);
      continue;
    }
    if (!inst.agentConnected) {
      if (here.length) wanted++;
      continue;
    }
    const primaryHere = here.filter((t) => t.task.deploymentId === primary.id);
    const oldHere = here.filter((t) => t.task.deploymentId !== primary.id);
    toStop.push(...primaryHere.slice(1));
    // Deployment windows: an older revision's copy on a host outside its window stays, and the
    // new one waits for the window. A host without a copy (new, or its copy failed) gets one now.
    if (oldHere.length && !hostOpen(view, inst.id)) {
      waiting.push(inst.id);
      wanted++;
      continue;
    }
    if (oldHere.length && !primaryHere.length && prefetching) {
      wanted++;
      continue;
    }
    if (oldHere.length && (primaryHere.some((t) => t.healthy) || stopFirst)) toStop.push(...oldHere);
    if (primaryHere.length) {
      wanted++;
      continue;
    }
    if (oldHere.length + (stoppingOn.get(inst.id) ?? 0) + 1 > perInstance) {
      wanted++;
      continue; // the old copy stops first; the new one starts once it has STOPPED
    }
    const key = `${svc.clusterName}/${name}/${primary.id}/${inst.id}`;
    const attrs = JSON.stringify(inst.attributes);
    if (notMatching.get(key) === attrs) continue;
    wanted++;
    resumeAt ??= await launchAllowedAt(ctx, svc);
    if (resumeAt > view.now) continue;
    const res = await launchTasks(ctx, svc, primary, snap.tds.get(primary.taskDefinitionArn)!, 1, {
      extraConstraints: [{ type: "memberOf", expression: `attribute:${INSTANCE_ID_ATTRIBUTE} == "${inst.id}"` }],
      quietFailures: (reason) => NOT_MATCHING.has(reason),
    });
    started += res.started.length;
    if (res.failures.some((f) => NOT_MATCHING.has(f.reason))) {
      notMatching.set(key, attrs);
      wanted--;
    }
  }
  if (resumeAt !== undefined && resumeAt > view.now) await throttledEvent(ctx, svc, resumeAt);
  await stop(toStop, `Task replaced by (deployment ${primary.id})`);
  await syncPrimaryDesired(ctx, primary, svc.status === "ACTIVE" ? wanted : 0);
  await recordWaitingHosts(ctx, primary, waitingHostsOf(view, svc.clusterName, waiting));

  const remaining = snap.tasks.filter((t) => !stopped.has(t.task.id));
  const stopping = [...snap.stopping, ...snap.tasks.filter((t) => stopped.has(t.task.id) && !t.lost)];
  const converged =
    !prefetching &&
    started === 0 &&
    stopping.length === 0 && remaining.length === wanted && remaining.every((t) => t.task.deploymentId === primary.id && t.healthy);
  return finishRound(ctx, snap, { remaining, stopping, desired: wanted, converged });
}

/** Does a draining instance still hold tasks other than daemon tasks? */
async function hasOtherTasks(ctx: OpsContext, inst: ServiceInstance, daemonServices: Set<string>): Promise<boolean> {
  const names = [...daemonServices];
  const row = await ctx.db
    .select({ id: tasks.id })
    .from(tasks)
    .where(
      and(
        eq(tasks.instanceId, inst.id),
        eq(tasks.desiredStatus, "RUNNING"),
        names.length ? or(isNull(tasks.serviceName), notInArray(tasks.serviceName, names)) : undefined,
      ),
    )
    .limit(1)
    .get();
  return row !== undefined;
}
