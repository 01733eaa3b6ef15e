import { networkModeOf, type ContainerDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { awslogsStream } from "../../shared/log-stream.ts";
import { runtimeName } from "../engine/container-spec.ts";
import type { RuntimeContainer } from "../runtime/types.ts";
import type { DeepReadonly, ReadonlyAgentTask } from "../store/state-file.ts";

/**
 * The task metadata endpoint's bodies, in amazon-ecs-agent's shapes (ecs-agent/tmds/handlers/v2
 * response.go and v4/state/response.go): v3 is the v2 container and task response plus Networks;
 * v4 adds LaunchType, ContainerARN, LogDriver/LogOptions, RestartCount, HostIp on ports and the
 * awsvpc network properties. Pure: built from the runner's state, the task definition and what
 * Docker's inspect said of each container (image id, creation time, labels, addresses, mounts).
 */

export type MetadataVersion = "v3" | "v4";

type Container = ReadonlyAgentTask["containers"][number];

/** ECS gives a container at least 2 CPU units in its Limits (its minimumCPUUnit). */
const MINIMUM_CPU_UNITS = 2;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Where the task's context comes from: the agent's cluster and, if the operator named one, its zone. */
export interface TaskContext {
  clusterName: string;
  availabilityZone?: string;
}

/**
 * ECS's Networks entry. Non-awsvpc containers get one entry per Docker network they are on; a
 * container on none (host, none) gets its mode with an empty address, as ECS reads it from Docker.
 */
function networks(v: MetadataVersion, td: TaskDefinitionSpec | null, c: Container, rc: RuntimeContainer | null): object[] {
  const mode = td ? networkModeOf(td) : "bridge";
  if (mode === "awsvpc") {
    const entry: Record<string, unknown> = { NetworkMode: "awsvpc", IPv4Addresses: c.privateIpv4Address ? [c.privateIpv4Address] : [] };
    // One task interface, so its index is 0 (as ECS hard-codes it).
    if (v === "v4") entry.AttachmentIndex = 0;
    return [entry];
  }
  const seen = Object.entries(rc?.ipAddresses ?? {});
  if (!seen.length) return [{ NetworkMode: mode, IPv4Addresses: [""] }];
  return seen.map(([name, ip]) => ({ NetworkMode: name, IPv4Addresses: [ip] }));
}

export function containerResponse(
  v: MetadataVersion,
  task: ReadonlyAgentTask,
  c: Container,
  td: TaskDefinitionSpec | null,
  rc: RuntimeContainer | null,
): Record<string, unknown> {
  const def: DeepReadonly<ContainerDefinition> | undefined = td?.containerDefinitions.find((d) => d.name === c.name);
  const out: Record<string, unknown> = {
    DockerId: c.runtimeId ?? "",
    Name: c.name,
    DockerName: runtimeName(task.taskId, c.name),
    Image: c.image,
    ImageID: rc?.imageId ?? "",
  };
  if (c.networkBindings?.length) {
    out.Ports = c.networkBindings.map((b) => ({
      ContainerPort: b.containerPort,
      Protocol: b.protocol,
      HostPort: b.hostPort,
      ...(v === "v4" ? { HostIp: b.bindIP } : {}),
    }));
  }
  if (rc && Object.keys(rc.labels).length) out.Labels = rc.labels;
  out.DesiredStatus = task.desiredStatus;
  out.KnownStatus = c.knownStatus;
  if (c.exitCode !== undefined) out.ExitCode = c.exitCode;
  out.Limits = { CPU: Math.max(def?.cpu ?? 0, MINIMUM_CPU_UNITS), Memory: def?.memory ?? 0 };
  const created = iso(rc?.createdAt);
  if (created) out.CreatedAt = created;
  if (c.startedAt !== undefined) out.StartedAt = iso(c.startedAt);
  if (c.finishedAt !== undefined) out.FinishedAt = iso(c.finishedAt);
  out.Type = "NORMAL";
  out.Networks = networks(v, td, c, rc);
  if (def?.healthCheck && def.healthCheck.command[0] !== "NONE") {
    // ECS leaves the status out while it is still unknown.
    out.Health = c.healthStatus && c.healthStatus !== "UNKNOWN" ? { status: c.healthStatus } : {};
  }
  if (rc?.mounts?.length) {
    out.Volumes = rc.mounts.map((m) => ({ ...(m.name ? { DockerName: m.name } : {}), Source: m.source, Destination: m.destination }));
  }
  if (v === "v4") {
    if (def?.logConfiguration) {
      out.LogDriver = def.logConfiguration.logDriver;
      // amazon-ecs-agent adds the stream it names (prefix/container/task-id) to awslogs' options.
      const stream = def.logConfiguration.options?.["awslogs-stream-prefix"] ? awslogsStream(def, task.taskId)?.stream : undefined;
      if (def.logConfiguration.options) out.LogOptions = { ...def.logConfiguration.options, ...(stream ? { "awslogs-stream": stream } : {}) };
    }
    // The container's ARN as DescribeTasks gives it (control/views/ecs.ts).
    out.ContainerARN = `${task.taskArn}/${c.name}`;
    if (def?.restartPolicy?.enabled) out.RestartCount = c.restartCount ?? 0;
  }
  return out;
}

/**
 * The containers a task response lists: as ECS's, those with a Docker container, and those pulled
 * but not created yet; not those still waiting for their image.
 */
export function listedContainers(task: ReadonlyAgentTask): Container[] {
  return task.containers.filter((c) => c.runtimeId || c.knownStatus === "PULLED");
}

export function taskResponse(
  v: MetadataVersion,
  ctx: TaskContext,
  task: ReadonlyAgentTask,
  td: TaskDefinitionSpec | null,
  inspected: ReadonlyMap<string, RuntimeContainer | null>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Cluster: ctx.clusterName,
    TaskARN: task.taskArn,
    Family: task.family,
    Revision: String(task.revision),
    DesiredStatus: task.desiredStatus,
    KnownStatus: task.knownStatus,
  };
  const containers = listedContainers(task).map((c) => containerResponse(v, task, c, td, (c.runtimeId && inspected.get(c.runtimeId)) || null));
  if (containers.length) out.Containers = containers;
  if (td?.cpu !== undefined || td?.memory !== undefined) {
    // Task cpu is in vCPUs here (ECS: 256 units → 0.25), container cpu in units.
    out.Limits = { ...(td.cpu !== undefined ? { CPU: td.cpu / 1024 } : {}), ...(td.memory !== undefined ? { Memory: td.memory } : {}) };
  }
  if (task.pullStartedAt !== undefined) out.PullStartedAt = iso(task.pullStartedAt);
  if (task.pullStoppedAt !== undefined) out.PullStoppedAt = iso(task.pullStoppedAt);
  if (task.stoppedAt !== undefined) out.ExecutionStoppedAt = iso(task.stoppedAt);
  if (ctx.availabilityZone) out.AvailabilityZone = ctx.availabilityZone;
  if (v === "v4") {
    out.LaunchType = "EXTERNAL";
    out.FaultInjectionEnabled = false;
  }
  return out;
}
