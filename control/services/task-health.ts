import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ServiceInstance } from "./cluster-view.ts";
import type { TaskRow } from "../db/rows.ts";
import { SCHEDULER_STOP_CODE } from "./store.ts";

/** Why the scheduler stops a task whose container health checks keep failing (counts as a failure). */
export const HEALTH_CHECK_FAILED_REASON = "Task failed container health checks";
export const LOST_REASON = "Task lost: container instance disconnected";

/** A task with container health checks counts as healthy only once its checks say HEALTHY. */
export function hasHealthChecks(spec: TaskDefinitionSpec): boolean {
  return spec.containerDefinitions.some((c) => (c as { healthCheck?: unknown }).healthCheck !== undefined);
}

/** Deactivating tasks (deregistration delay) are out of the answers, so none counts as healthy. */
export function isHealthy(t: TaskRow, checks: boolean): boolean {
  return t.lastStatus === "RUNNING" && t.deactivatingAt == null && (!checks || t.healthStatus === "HEALTHY");
}

/** RUNNING but reported UNHEALTHY after the grace period: the scheduler replaces it. */
export function isFailingHealthChecks(t: TaskRow, checks: boolean, graceSeconds: number, now: number): boolean {
  return checks && t.lastStatus === "RUNNING" && t.healthStatus === "UNHEALTHY" && now - (t.startedAt ?? now) >= graceSeconds * 1000;
}

/** A stopped task counts against its deployment unless the scheduler or a user stopped it on purpose. */
export function isFailedTask(t: Pick<TaskRow, "stopCode" | "stoppedReason">): boolean {
  if (t.stoppedReason === HEALTH_CHECK_FAILED_REASON) return true;
  return t.stopCode !== SCHEDULER_STOP_CODE && t.stopCode !== "UserInitiated";
}

/** Failed to launch: never reached RUNNING, or died within seconds of starting. */
export function isLaunchFailure(t: Pick<TaskRow, "stopCode" | "stoppedReason" | "startedAt" | "stoppedAt">, shortLivedMs = 5000): boolean {
  if (!isFailedTask(t)) return false;
  return t.startedAt == null || (t.stoppedAt ?? t.startedAt) - t.startedAt < shortLivedMs;
}

/**
 * An instance's service tasks are lost once its agent has been disconnected for the grace period
 * (-1 = never). `since` is when the scheduler first saw it disconnected (at the latest its start),
 * so a control restart gives agents a full grace period to reconnect.
 */
export function isInstanceLost(inst: Pick<ServiceInstance, "status" | "agentConnected"> | undefined, graceSeconds: number, since: number | undefined, now: number): boolean {
  if (!inst) return true;
  if (inst.status === "INACTIVE") return true;
  if (inst.agentConnected || graceSeconds < 0) return false;
  return now - (since ?? now) >= graceSeconds * 1000;
}
