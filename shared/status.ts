/**
 * Ordered status enums, as in amazon-ecs-agent: a status only ever moves forward, so a stale or
 * reordered report can be dropped by comparing ranks.
 */
export const TASK_STATUSES = ["PROVISIONING", "PENDING", "RUNNING", "STOPPING", "STOPPED"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const CONTAINER_STATUSES = ["PENDING", "PULLED", "CREATED", "RUNNING", "STOPPED"] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const DESIRED_STATUSES = ["RUNNING", "STOPPED"] as const;
export type DesiredStatus = (typeof DESIRED_STATUSES)[number];

export const INSTANCE_STATUSES = ["REGISTERING", "ACTIVE", "DRAINING", "INACTIVE"] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export function taskStatusRank(s: TaskStatus): number {
  return TASK_STATUSES.indexOf(s);
}

export function containerStatusRank(s: ContainerStatus): number {
  return CONTAINER_STATUSES.indexOf(s);
}

/** True when `next` is a forward move from `current` (equal counts as not forward). */
export function isTaskStatusForward(current: TaskStatus, next: TaskStatus): boolean {
  return taskStatusRank(next) > taskStatusRank(current);
}

export function isContainerStatusForward(current: ContainerStatus, next: ContainerStatus): boolean {
  return containerStatusRank(next) > containerStatusRank(current);
}
