import { arn } from "../../shared/arn.ts";
import type { ContainerStatsStore } from "../container-stats.ts";
import { taskStatsView } from "./stats.ts";
import { awslogsStream } from "../../shared/log-stream.ts";
import { ecsResources } from "../../shared/instance-resources.ts";
import type { ReportedContainer } from "../../shared/messages.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ClusterRow, InstanceRow, TaskContainer, TaskDefinitionRow, TaskRow } from "../db/rows.ts";

/** Renders store rows in ECS's response shapes (field names as in the ECS API reference). */

const iso = (ms: number | null | undefined) => (ms == null ? undefined : new Date(ms).toISOString());

export interface ClusterCountsView {
  registeredContainerInstancesCount: number;
  runningTasksCount: number;
  pendingTasksCount: number;
  activeServicesCount?: number;
}

export function clusterView(row: ClusterRow, counts?: ClusterCountsView) {
  const c = counts && {
    registeredContainerInstancesCount: counts.registeredContainerInstancesCount,
    runningTasksCount: counts.runningTasksCount,
    pendingTasksCount: counts.pendingTasksCount,
    activeServicesCount: counts.activeServicesCount,
  };
  return { clusterName: row.name, clusterArn: row.arn, status: row.status, ...(c ?? {}), createdAt: iso(row.createdAt) };
}

function registeredGpus(row: InstanceRow): { gpus?: string[] } {
  return row.registeredGpus.length ? { gpus: row.registeredGpus } : {};
}

export function containerInstanceView(row: InstanceRow, counts: { runningTasksCount: number; pendingTasksCount: number }) {
  return {
    containerInstanceId: row.id,
    containerInstanceArn: row.arn,
    clusterArn: arn.cluster(row.clusterName),
    ec2InstanceId: row.hostname,
    status: row.status,
    agentConnected: row.agentConnected,
    registeredResources: ecsResources({ cpu: row.registeredCpu, memory: row.registeredMemory, tcp: [], udp: [], ...registeredGpus(row) }),
    remainingResources: ecsResources({
      cpu: row.registeredCpu - row.usedCpu,
      memory: row.registeredMemory - row.usedMemory,
      tcp: row.usedPorts.tcp,
      udp: row.usedPorts.udp,
      ...(row.registeredGpus.length ? { gpus: row.registeredGpus.filter((id) => !row.usedGpus.includes(id)) } : {}),
    }),
    attributes: Object.entries(row.attributes).map(([name, value]) => ({ name, value })),
    runningTasksCount: counts.runningTasksCount,
    pendingTasksCount: counts.pendingTasksCount,
    versionInfo: row.versionInfo,
    // ECS's field; the version and a failure's reason are Flotilla's additions (docs/agent-upgrades.md).
    ...(row.agentUpdateStatus ? { agentUpdateStatus: row.agentUpdateStatus, agentUpdateVersion: row.agentUpdateVersion, ...(row.agentUpdateReason ? { agentUpdateReason: row.agentUpdateReason } : {}) } : {}),
    registeredAt: iso(row.registeredAt),
    lastSeenAt: iso(row.lastSeenAt),
    desiredGeneration: row.desiredGeneration,
    reportedGeneration: row.reportedGeneration,
    // ECS's shape: overallStatus plus one detail per check, times as ISO strings.
    healthStatus: row.healthStatus
      ? {
          overallStatus: row.healthStatus,
          details: (row.healthDetails as { type: string; status: string; reason?: string; lastStatusChange: number }[] | null ?? []).map((d) => ({
            type: d.type,
            status: d.status,
            ...(d.reason ? { reason: d.reason } : {}),
            lastUpdated: iso(row.healthUpdatedAt),
            lastStatusChange: iso(d.lastStatusChange),
          })),
        }
      : { overallStatus: "INSUFFICIENT_DATA", details: [] },
    hostMetrics: row.hostMetrics ? { ...row.hostMetrics, updatedAt: iso(row.healthUpdatedAt) } : undefined,
  };
}

export function taskDefinitionView(row: TaskDefinitionRow) {
  const spec = row.spec as TaskDefinitionSpec;
  return {
    ...spec,
    // ECS returns task-level cpu and memory as strings.
    cpu: spec.cpu === undefined ? undefined : String(spec.cpu),
    memory: spec.memory === undefined ? undefined : String(spec.memory),
    taskDefinitionArn: row.arn,
    family: row.family,
    revision: row.revision,
    status: row.status,
    registeredAt: iso(row.registeredAt),
    deregisteredAt: iso(row.deregisteredAt),
  };
}

/** awsvpc: the task's own address as ECS shows an ENI attachment (none for other network modes). */
function awsvpcAttachments(containers: ViewedContainer[]) {
  const ni = containers.find((c) => c.networkInterfaces?.length)?.networkInterfaces?.[0];
  if (!ni) return undefined;
  return [
    {
      id: ni.attachmentId,
      type: "ElasticNetworkInterface",
      status: "ATTACHED",
      details: [{ name: "privateIPv4Address", value: ni.privateIpv4Address }],
    },
  ];
}

/** ECS's Task.overrides: one containerOverrides entry per container (just its name when not overridden). */
function taskOverridesView(row: TaskRow, containers: ViewedContainer[]) {
  const given = (row.overrides ?? {}) as { containerOverrides?: { name: string }[] } & Record<string, unknown>;
  const byName = new Map((given.containerOverrides ?? []).map((c) => [c.name, c]));
  return {
    ...given,
    containerOverrides: containers.map((c) => byName.get(c.name) ?? { name: c.name }),
    inferenceAcceleratorOverrides: [],
  };
}

type ViewedContainer = TaskContainer & Pick<ReportedContainer, "essential" | "healthStatus" | "networkInterfaces">;

/**
 * `spec`, the task's definition, adds each awslogs container's `logStreamName` (a Flotilla
 * addition: ECS's console derives it the same way, `prefix/container/task-id`), the name the task
 * logs API accepts as `stream`.
 */
export function taskView(row: TaskRow, spec?: TaskDefinitionSpec, containerStats?: ContainerStatsStore) {
  const containers = row.containers as ViewedContainer[];
  // Sampled use (Flotilla's REST door only; ECS shows it in CloudWatch, not DescribeTasks).
  const stats = taskStatsView(containerStats, row);
  const defs = new Map((spec?.containerDefinitions ?? []).map((d) => [d.name, d]));
  const streamOf = (c: ViewedContainer) => {
    const d = defs.get(c.name);
    return d ? awslogsStream(d, row.id, c.runtimeId)?.stream : undefined;
  };
  return {
    taskArn: row.arn,
    taskId: row.id,
    clusterArn: arn.cluster(row.clusterName),
    containerInstanceArn: arn.containerInstance(row.clusterName, row.instanceId),
    containerInstanceId: row.instanceId,
    taskDefinitionArn: row.taskDefinitionArn,
    group: row.group,
    startedBy: row.startedBy ?? undefined,
    launchType: "EXTERNAL",
    // Deregistration delay (docs/ingress.md): ECS shows a task leaving its target groups as desired
    // STOPPED, last DEACTIVATING; its agent is told to stop only once the delay has passed.
    desiredStatus: row.deactivatingAt != null ? "STOPPED" : row.desiredStatus,
    lastStatus: row.deactivatingAt != null && row.desiredStatus === "RUNNING" && row.lastStatus === "RUNNING" ? "DEACTIVATING" : row.lastStatus,
    cpu: String(row.reservation.cpu),
    memory: String(row.reservation.memory),
    containers: containers.map(({ essential: _essential, ...c }) => ({
      containerArn: `${row.arn}/${c.name}`,
      taskArn: row.arn,
      ...c,
      logStreamName: streamOf(c),
      stats: stats?.containers.get(c.name),
    })),
    stats: stats?.task,
    healthStatus: row.healthStatus,
    overrides: taskOverridesView(row, containers),
    attachments: awsvpcAttachments(containers),
    createdAt: iso(row.createdAt),
    startedAt: iso(row.startedAt),
    stoppingAt: iso(row.stoppingAt),
    // Flotilla extension: when the task left discovery and ingress (its deregistration delay began).
    deactivatingAt: iso(row.deactivatingAt),
    stoppedAt: iso(row.stoppedAt),
    stoppedReason: row.stoppedReason ?? undefined,
    stopCode: row.stopCode ?? undefined,
    // What the agent saw happen (pull progress, container transitions), oldest first.
    events: (row.events ?? []).map((e) => ({ at: iso(e.at), message: e.message })),
  };
}
