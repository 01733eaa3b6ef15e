import type { OpsContext } from "../scheduling/context.ts";
import { rolloutStep } from "./deployment-math.ts";
import { addServiceEvent, taskList } from "./events.ts";
import { launchAllowedAt, launchTasks, throttledEvent } from "./launch.ts";
import { finishRound, type RoundOutcome } from "./round-end.ts";
import type { ClassifiedTask, ClusterView, ServiceSnapshot } from "./snapshot.ts";
import { stopOrder } from "./snapshot.ts";
import { stopServiceTasks } from "./stop-tasks.ts";
import { serviceDeregistrationDelayMs } from "./deactivation.ts";
import { HEALTH_CHECK_FAILED_REASON, LOST_REASON } from "./task-health.ts";
import { syncPrimaryDesired } from "./rollout-state.ts";
import { hostOpen, recordReached, recordWaitingHosts, waitingHostsOf } from "./window-hold.ts";
import { waitsForPrefetch } from "./prefetch-gate.ts";

/** How long a task watched by the circuit breaker must have been RUNNING to count toward completion. */
export const BREAKER_SETTLE_MS = 3000;

/**
 * One level-triggered round for a REPLICA service: compare the primary deployment's desired count
 * with the live tasks and act — scale in, start (never above maximumPercent, counting tasks still
 * stopping), stop replaced tasks (old deployments, draining instances; never below
 * minimumHealthyPercent), and retire tasks lost on disconnected instances once their replacements
 * are started.
 */
export async function reconcileReplica(ctx: OpsContext, snap: ServiceSnapshot, view: ClusterView): Promise<RoundOutcome> {
  const { svc, cfg, primary } = snap;
  const name = svc.serviceName;
  const desired = svc.status === "ACTIVE" ? svc.desiredCount : 0;
  const stopped = new Set<string>();
  // A task leaving is deregistered first (deactivation.ts); one on a lost host serves nobody already.
  const delayMs = serviceDeregistrationDelayMs(svc);
  const stop = async (list: ClassifiedTask[], reason: string) => {
    const ids = await stopServiceTasks(ctx, list.map((t) => t.task.id), reason, reason === LOST_REASON ? 0 : delayMs);
    for (const id of ids) stopped.add(id);
    return ids;
  };

  await syncPrimaryDesired(ctx, primary, desired);
  const failing = snap.tasks.filter((t) => t.failingHealthChecks);
  if (failing.length) {
    const ids = await stop(failing, HEALTH_CHECK_FAILED_REASON);
    for (const id of ids) await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) (task ${id}) failed container health checks.`);
  }

  let current = snap.tasks.filter((t) => !t.lost && !stopped.has(t.task.id));
  let primaryTasks = current.filter((t) => t.task.deploymentId === primary.id && !t.draining);

  // Scale in: the primary has more than it should.
  if (primaryTasks.length > desired) {
    const surplus = [...primaryTasks].sort(stopOrder).slice(0, primaryTasks.length - desired);
    const ids = await stop(surplus, `Scaling activity initiated by (deployment ${primary.id})`);
    if (ids.length) await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) has stopped ${ids.length} running tasks: ${taskList(ids)}.`);
    current = current.filter((t) => !stopped.has(t.task.id));
    primaryTasks = primaryTasks.filter((t) => !stopped.has(t.task.id));
  }

  // Deployment windows: tasks of older deployments on hosts outside their window are held — not
  // stopped, and standing in for the primary tasks that will replace them once the window opens.
  // Deleting a service is no deployment: nothing is held then.
  const held = svc.status !== "ACTIVE" ? [] : current.filter((t) => t.task.deploymentId !== primary.id && !t.draining && !hostOpen(view, t.task.instanceId));
  const heldIds = new Set(held.map((t) => t.task.id));
  await recordReached(ctx, primary, liveForWindows(current), desired);
  await recordWaitingHosts(ctx, primary, waitingHostsOf(view, svc.clusterName, held.map((t) => t.task.instanceId)));

  // maximumPercent bounds every task not yet STOPPED: one asked to stop (this round or before)
  // still runs, holding its host's ports and resources, until its agent reports it STOPPED.
  const unstopped = snap.tasks.filter((t) => !t.lost).length + snap.stopping.length;
  const step = rolloutStep(
    { desiredCount: desired, primaryTasks: primaryTasks.length + held.length, totalTasks: unstopped, healthyTasks: current.filter((t) => t.healthy).length },
    cfg,
  );

  // deploymentConfiguration.prefetch: until the new revision's images are on the hosts, start only
  // what replaces failed or missing tasks and stop no healthy task of an older deployment.
  const prefetching = await waitsForPrefetch(ctx, snap);
  const missing = Math.max(0, desired - current.filter((t) => !t.draining).length);
  const startCount = prefetching ? Math.min(step.start, missing) : step.start;

  let started = 0;
  if (startCount > 0) {
    const resumeAt = await launchAllowedAt(ctx, svc);
    if (resumeAt > view.now) await throttledEvent(ctx, svc, resumeAt);
    else started = await launchWindowed(ctx, snap, view, current, startCount, desired);
  }

  // Replaced tasks: those of older deployments and those on draining instances (held ones wait).
  const replaced = current.filter((t) => (t.task.deploymentId !== primary.id || t.draining) && !heldIds.has(t.task.id));
  const depAge = new Map(snap.deps.map((d) => [d.id, d.createdAt]));
  const unhealthyReplaced = replaced.filter((t) => !t.healthy && t.task.deploymentId !== primary.id);
  const healthyReplaced = replaced
    .filter((t) => t.healthy || t.task.deploymentId === primary.id)
    .sort((a, b) => {
      if (a.draining !== b.draining) return a.draining ? -1 : 1;
      const age = (depAge.get(a.task.deploymentId ?? "") ?? 0) - (depAge.get(b.task.deploymentId ?? "") ?? 0);
      return age !== 0 ? age : stopOrder(a, b);
    });
  const toStop = [...unhealthyReplaced, ...healthyReplaced.slice(0, prefetching ? 0 : step.stopHealthy)];
  // A draining instance's primary tasks go only once a replacement has been started for each.
  const drainingPrimary = replaced.filter((t) => t.task.deploymentId === primary.id).length;
  const notReplaced = Math.max(0, desired - (primaryTasks.length + held.length + started));
  const allowed = new Set(
    toStop
      .filter((t) => t.task.deploymentId === primary.id)
      .slice(0, Math.max(0, drainingPrimary - notReplaced))
      .map((t) => t.task.id),
  );
  const finalStop = toStop.filter((t) => t.task.deploymentId !== primary.id || allowed.has(t.task.id));
  if (finalStop.length) {
    const ids = await stop(finalStop, `Task replaced by (deployment ${primary.id})`);
    if (ids.length) await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) has stopped ${ids.length} running tasks: ${taskList(ids)}.`);
  }

  // Lost tasks: retire as many as have replacements; the rest resume if their instance returns.
  const lost = snap.tasks.filter((t) => t.lost);
  const lostPrimary = lost.filter((t) => t.task.deploymentId === primary.id);
  const primaryLive = primaryTasks.filter((t) => !stopped.has(t.task.id)).length + started;
  const retire = [
    ...lost.filter((t) => t.task.deploymentId !== primary.id),
    ...lostPrimary.slice(0, Math.max(0, primaryLive + lostPrimary.length - desired)),
  ];
  if (retire.length) {
    const ids = await stop(retire, LOST_REASON);
    if (ids.length) {
      await addServiceEvent(ctx, svc.clusterName, name, `(service ${name}) marked ${ids.length} tasks lost on disconnected container instances: ${taskList(ids)}.`);
    }
  }

  const remaining = snap.tasks.filter((t) => !stopped.has(t.task.id));
  const stopping = [...snap.stopping, ...snap.tasks.filter((t) => stopped.has(t.task.id) && !t.lost)];
  // Under the circuit breaker a rollout completes only once its tasks have stayed up a moment:
  // tasks that exit right after starting are all RUNNING for an instant, and a round that saw
  // that instant would complete the deployment, out of the breaker's reach, before they fail.
  const settled = (t: ClassifiedTask) => !cfg.deploymentCircuitBreaker.enable || view.now - (t.task.startedAt ?? view.now) >= BREAKER_SETTLE_MS;
  const converged =
    !prefetching &&
    started === 0 &&
    stopping.length === 0 &&
    remaining.length === desired &&
    remaining.every((t) => t.task.deploymentId === primary.id && t.healthy && !t.draining && settled(t));
  return finishRound(ctx, snap, { remaining, stopping, desired, converged });
}

/**
 * Starts `count` primary tasks under the cluster's deployment windows. Replacements of failed
 * tasks (up to the most tasks the service has had live) go anywhere; tasks that replace an older
 * deployment's, and scale-up unless windowPolicy.allowScaleOutsideWindow, only go to hosts inside
 * their window now. Returns how many started.
 */
async function launchWindowed(ctx: OpsContext, snap: ServiceSnapshot, view: ClusterView, current: ClassifiedTask[], count: number, desired: number): Promise<number> {
  const { svc, cfg, primary } = snap;
  const td = snap.tds.get(primary.taskDefinitionArn)!;
  const live = liveForWindows(current);
  const reached = primary.reachedCount;
  if (view.windows.unrestricted) return (await launchTasks(ctx, svc, primary, td, count)).started.length;
  const failedReplacements = Math.min(count, Math.max(0, reached - live));
  const replacingOld = Math.min(count - failedReplacements, current.filter((t) => t.task.deploymentId !== primary.id && !t.draining).length);
  const scaleUp = count - failedReplacements - replacingOld;
  const free = failedReplacements + (cfg.windowPolicy?.allowScaleOutsideWindow ? scaleUp : 0);
  let started = 0;
  if (free > 0) started += (await launchTasks(ctx, svc, primary, td, free)).started.length;
  if (count - free > 0) started += (await launchTasks(ctx, svc, primary, td, count - free, { admit: view.windows.admits })).started.length;
  return started;
}

/** Tasks on draining instances are being replaced at the operator's request: like failed ones, their replacements never wait. */
const liveForWindows = (current: ClassifiedTask[]) => current.filter((t) => !t.draining).length;
