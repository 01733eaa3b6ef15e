import type { ReportedTask, TaskEvent } from "../../shared/messages.ts";
import { MAX_TASK_EVENTS, taskHealthStatus } from "../../shared/messages.ts";
import type { ReadonlyAgentTask } from "../store/state-file.ts";

/**
 * One task as the control service sees it, built from the runner's state alone (pure). `progress`
 * holds the pull progress events, which live in memory only; they are merged with the durable
 * events by time. Only events at or after `eventsSince` go out (the control keeps the ones it
 * already has), so steady reports do not carry every task's history.
 */
export function reportTask(t: ReadonlyAgentTask, progress: readonly TaskEvent[], eventsSince = 0): ReportedTask {
  return {
    taskId: t.taskId,
    knownStatus: t.knownStatus,
    startedAt: t.startedAt,
    stoppingAt: t.stoppingAt,
    stoppedAt: t.stoppedAt,
    stoppedReason: t.stoppedReason,
    stopCode: t.stopCode,
    healthStatus: taskHealthStatus([...t.containers]),
    events: reportedEvents(t.events ?? [], progress, eventsSince),
    containers: t.containers.map((c) => ({
      name: c.name,
      image: c.image,
      status: c.knownStatus,
      runtimeId: c.runtimeId,
      exitCode: c.exitCode,
      reason: c.reason,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      essential: c.essential,
      healthStatus: c.healthStatus,
      restartCount: c.restartCount,
      networkBindings: c.networkBindings?.map((b) => ({ ...b })),
      networkInterfaces: c.privateIpv4Address ? [{ attachmentId: `flotilla-${t.taskId}`, privateIpv4Address: c.privateIpv4Address }] : undefined,
    })),
  };
}

function reportedEvents(durable: readonly TaskEvent[], progress: readonly TaskEvent[], eventsSince: number): TaskEvent[] | undefined {
  if (!durable.length && !progress.length) return undefined;
  // Stable sort: on a tie, pull progress comes before the transition it led to.
  const all = [...progress, ...durable].sort((a, b) => a.at - b.at).slice(-MAX_TASK_EVENTS);
  const since = eventsSince ? all.filter((e) => e.at >= eventsSince) : all;
  return since.map((e) => ({ at: e.at, message: e.message }));
}
