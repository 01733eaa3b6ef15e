/**
 * ECS's EventBridge event shapes ("ECS Task State Change", "ECS Container Instance State Change",
 * "ECS Deployment State Change", "ECS Service Action"), built from the rows they describe, so a
 * consumer written for ECS's events reads these with little change. `source` is "flotilla.ecs"
 * where ECS says "aws.ecs"; account and region are the ones in Flotilla's ARNs.
 */
import { arn } from "../../shared/arn.ts";
import type { DeploymentRow, InstanceRow, TaskContainer, TaskRow } from "../db/rows.ts";

export const EVENT_SOURCE = "flotilla.ecs";
export const EVENT_ACCOUNT = "000000000000";
export const EVENT_REGION = "local";

export const DETAIL_TYPES = [
  "ECS Task State Change",
  "ECS Container Instance State Change",
  "ECS Deployment State Change",
  "ECS Service Action",
  "Flotilla Activation Used",
  "Flotilla Webhook Disabled",
] as const;
export type DetailType = (typeof DETAIL_TYPES)[number];

/** What the log stores for one event: the envelope's parts plus the columns streams filter on. */
export interface NewEvent {
  detailType: DetailType;
  clusterName?: string;
  serviceName?: string;
  instanceId?: string;
  taskId?: string;
  resources: string[];
  detail: Record<string, unknown>;
}

const iso = (ms: number | null | undefined) => (ms == null ? undefined : new Date(ms).toISOString());

/** ECS's Task fields, as its task state change event carries them. */
export function taskStateChange(t: TaskRow): NewEvent {
  const containers = (t.containers as TaskContainer[]).map((c) => ({
    containerArn: `${t.arn}/${c.name}`,
    name: c.name,
    image: c.image,
    lastStatus: c.lastStatus,
    taskArn: t.arn,
    exitCode: c.exitCode,
    reason: c.reason,
    runtimeId: c.runtimeId,
  }));
  return {
    detailType: "ECS Task State Change",
    clusterName: t.clusterName,
    serviceName: t.serviceName ?? undefined,
    instanceId: t.instanceId,
    taskId: t.id,
    resources: [t.arn],
    detail: {
      clusterArn: arn.cluster(t.clusterName),
      containerInstanceArn: arn.containerInstance(t.clusterName, t.instanceId),
      containers,
      createdAt: iso(t.createdAt),
      desiredStatus: t.desiredStatus,
      group: t.group,
      healthStatus: t.healthStatus,
      lastStatus: t.lastStatus,
      launchType: "EXTERNAL",
      startedAt: iso(t.startedAt),
      startedBy: t.startedBy ?? undefined,
      stoppingAt: iso(t.stoppingAt),
      stoppedAt: iso(t.stoppedAt),
      stoppedReason: t.stoppedReason ?? undefined,
      stopCode: t.stopCode ?? undefined,
      taskArn: t.arn,
      taskDefinitionArn: t.taskDefinitionArn,
      updatedAt: iso(t.updatedAt),
    },
  };
}

/** The fields of a task a state change event is about: a change of any of them is an event. */
export function taskStateKey(t: Pick<TaskRow, "lastStatus" | "desiredStatus" | "healthStatus" | "containers">): string {
  return JSON.stringify([t.lastStatus, t.desiredStatus, t.healthStatus, (t.containers as TaskContainer[]).map((c) => [c.lastStatus, c.exitCode ?? null])]);
}

/** ECS's ContainerInstance fields (agentConnected, status, health) as its state change event carries them. */
export function instanceStateChange(i: InstanceRow, at: number): NewEvent {
  const instanceArn = arn.containerInstance(i.clusterName, i.id);
  return {
    detailType: "ECS Container Instance State Change",
    clusterName: i.clusterName,
    instanceId: i.id,
    resources: [instanceArn],
    detail: {
      agentConnected: i.agentConnected,
      clusterArn: arn.cluster(i.clusterName),
      containerInstanceArn: instanceArn,
      ec2InstanceId: i.id,
      registeredResources: [
        { name: "CPU", type: "INTEGER", integerValue: i.registeredCpu },
        { name: "MEMORY", type: "INTEGER", integerValue: i.registeredMemory },
      ],
      remainingResources: [
        { name: "CPU", type: "INTEGER", integerValue: i.registeredCpu - i.usedCpu },
        { name: "MEMORY", type: "INTEGER", integerValue: i.registeredMemory - i.usedMemory },
      ],
      status: i.status,
      healthStatus: i.healthStatus ?? undefined,
      versionInfo: i.versionInfo,
      registeredAt: iso(i.registeredAt),
      updatedAt: iso(at),
    },
  };
}

export type DeploymentEventName = "SERVICE_DEPLOYMENT_IN_PROGRESS" | "SERVICE_DEPLOYMENT_COMPLETED" | "SERVICE_DEPLOYMENT_FAILED";

/** ECS's deployment state change: eventType INFO (ERROR when failed), eventName, deploymentId, reason. */
export function deploymentStateChange(d: Pick<DeploymentRow, "id" | "clusterName" | "serviceName">, eventName: DeploymentEventName, reason: string, at: number): NewEvent {
  return {
    detailType: "ECS Deployment State Change",
    clusterName: d.clusterName,
    serviceName: d.serviceName,
    resources: [arn.service(d.clusterName, d.serviceName)],
    detail: {
      eventType: eventName === "SERVICE_DEPLOYMENT_FAILED" ? "ERROR" : "INFO",
      eventName,
      clusterArn: arn.cluster(d.clusterName),
      deploymentId: d.id,
      updatedAt: iso(at),
      reason,
    },
  };
}

/** ECS's service action events: SERVICE_STEADY_STATE, SERVICE_DESIRED_COUNT_UPDATED, SERVICE_TASK_PLACEMENT_FAILURE… */
export function serviceAction(
  clusterName: string,
  serviceName: string,
  eventName: string,
  eventType: "INFO" | "WARN" | "ERROR",
  at: number,
  extra: Record<string, unknown> = {},
): NewEvent {
  return {
    detailType: "ECS Service Action",
    clusterName,
    serviceName,
    resources: [arn.service(clusterName, serviceName)],
    detail: { eventType, eventName, clusterArn: arn.cluster(clusterName), createdAt: iso(at), ...extra },
  };
}
