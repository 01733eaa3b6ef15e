import { LABELS } from "../../shared/labels.ts";
import type { ContainerDefinition, TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ContainerSpec } from "../runtime/types.ts";

export interface TaskIdentity {
  taskId: string;
  clusterName: string;
  instanceId: string;
  family: string;
  revision: number;
}

export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;

/** Docker container name for a task's container; unique per task, readable in `docker ps`. */
export function runtimeName(taskId: string, containerName: string): string {
  return `flotilla-${taskId.slice(0, 12)}-${containerName}`;
}

/** Labels every Flotilla container carries; the agent touches only containers with its instance id. */
export function containerLabels(t: TaskIdentity, containerName: string): Record<string, string> {
  return {
    [LABELS.taskId]: t.taskId,
    [LABELS.containerName]: containerName,
    [LABELS.cluster]: t.clusterName,
    [LABELS.instanceId]: t.instanceId,
    [LABELS.taskDefinition]: `${t.family}:${t.revision}`,
  };
}

/** Maps an ECS container definition onto a runtime-neutral container spec. */
export function buildContainerSpec(t: TaskIdentity, td: TaskDefinitionSpec, c: ContainerDefinition): ContainerSpec {
  // awsvpc gets its own task network namespace in the agent issue; until then it runs as bridge.
  const mode = td.networkMode ?? "bridge";
  const networkMode = mode === "awsvpc" ? "bridge" : mode;
  const hostEqualsContainer = mode === "host" || mode === "awsvpc";
  return {
    name: runtimeName(t.taskId, c.name),
    image: c.image,
    labels: { ...(c.dockerLabels ?? {}), ...containerLabels(t, c.name) },
    command: c.command,
    entryPoint: c.entryPoint,
    env: c.environment ? Object.fromEntries(c.environment.map((e) => [e.name, e.value])) : undefined,
    workingDirectory: c.workingDirectory,
    user: c.user,
    hostname: c.hostname,
    memoryMiB: c.memory,
    memoryReservationMiB: c.memoryReservation,
    cpuShares: c.cpu,
    networkMode,
    portBindings: (c.portMappings ?? []).map((p) => ({
      containerPort: p.containerPort,
      hostPort: hostEqualsContainer ? p.containerPort : (p.hostPort ?? 0),
      protocol: p.protocol,
    })),
    stopTimeoutSeconds: c.stopTimeout ?? DEFAULT_STOP_TIMEOUT_SECONDS,
  };
}
