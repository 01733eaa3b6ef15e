import { LABELS } from "../../shared/labels.ts";
import { hostPortOf, networkModeOf, stopTimeoutOf, type ContainerDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ContainerSpec } from "../runtime/types.ts";
import { FIRELENS_CONFIG_PATHS, FIRELENS_FORWARD_PORT, BUFFER_LIMIT_OPTION, firelensTag, usesFirelens, type firelensPaths } from "./firelens-config.ts";
import { namespaceOwnerName } from "./task-network.ts";
import { volumeSource } from "./task-volumes.ts";

export interface TaskIdentity {
  taskId: string;
  clusterName: string;
  instanceId: string;
  family: string;
  revision: number;
}

export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;

/**
 * Docker container name for a task's container. The whole task id: ids may share a prefix (the
 * control service is free to make them time-ordered), and a shortened one would collide.
 */
export function runtimeName(taskId: string, containerName: string): string {
  return `flotilla-${taskId}-${containerName}`;
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

/** ECS device permissions → Docker cgroup permissions ("rwm"); all of them when none are named. */
function cgroupPermissions(perms: readonly string[] | undefined): string {
  if (!perms?.length) return "rwm";
  return (perms.includes("read") ? "r" : "") + (perms.includes("write") ? "w" : "") + (perms.includes("mknod") ? "m" : "");
}

/** Task-level pidMode/ipcMode: "host" and "none" are Docker's; "task" joins the task's namespace holder. */
function namespaceMode(mode: "host" | "task" | "none" | undefined, taskId: string): string | undefined {
  if (mode === "task") return `container:${namespaceOwnerName(taskId)}`;
  return mode;
}

/** Variables the agent adds over the definition's `environment` (secret values, the metadata endpoint). */
function withAddedEnv(env: Record<string, string> | undefined, added: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(added).length ? { ...env, ...added } : env;
}

export const NVIDIA_VISIBLE_DEVICES = "NVIDIA_VISIBLE_DEVICES";

/**
 * The container's GPUs, as amazon-ecs-agent gives them: for ECS Anywhere (external) instances a
 * Docker device request naming exactly the container's GPU ids with capability "gpu" (the NVIDIA
 * container toolkit's hook then exposes only those), and NVIDIA_VISIBLE_DEVICES set to the same ids,
 * which ECS sets on its own instances and which overrides any value the definition gives.
 */
function gpuSettings(gpuIds: readonly string[] | undefined): Pick<ContainerSpec, "deviceRequests"> & { env?: Record<string, string> } {
  if (!gpuIds?.length) return {};
  return {
    deviceRequests: [{ driver: "nvidia", deviceIds: [...gpuIds], capabilities: [["gpu"]] }],
    env: { [NVIDIA_VISIBLE_DEVICES]: gpuIds.join(",") },
  };
}

/**
 * Maps an ECS container definition onto a runtime-neutral container spec. Pure: everything it uses
 * is an argument, including the variables the agent adds (task definition `secrets`, which arrive
 * as values inside the desired task, and the task metadata endpoint URIs; name → value), the task's
 * cgroup and the GPU ids placement reserved for the container, so the same inputs always give the
 * same spec.
 */
export function buildContainerSpec(
  t: TaskIdentity,
  td: TaskDefinitionSpec,
  c: ContainerDefinition,
  addedEnv: Record<string, string> = {},
  cgroupParent?: string,
  gpuIds?: readonly string[],
  log: LogContext = {},
): ContainerSpec {
  const gpus = gpuSettings(gpuIds);
  const mode = networkModeOf(td);
  const lp = c.linuxParameters;
  const hc = c.healthCheck;
  const volumes = new Map((td.volumes ?? []).map((v) => [v.name, v]));
  const fl = firelensParts(t, c, log.firelens);
  return {
    name: runtimeName(t.taskId, c.name),
    image: c.image,
    labels: { ...(c.dockerLabels ?? {}), ...containerLabels(t, c.name) },
    command: c.command,
    entryPoint: c.entryPoint,
    env: withAddedEnv(c.environment ? Object.fromEntries(c.environment.map((e) => [e.name, e.value])) : undefined, { ...fl.env, ...addedEnv, ...gpus.env }),
    workingDirectory: c.workingDirectory,
    user: c.user,
    hostname: c.hostname,
    memoryMiB: c.memory,
    memoryReservationMiB: c.memoryReservation,
    cpuShares: c.cpu,
    // awsvpc: the task's containers join the namespace of its holder, which publishes the ports.
    networkMode: mode === "awsvpc" ? `container:${namespaceOwnerName(t.taskId)}` : mode,
    portBindings:
      mode === "bridge"
        ? (c.portMappings ?? []).map((p) => ({ containerPort: p.containerPort, hostPort: hostPortOf(mode, p), protocol: p.protocol }))
        : [],
    stopTimeoutSeconds: stopTimeoutOf(c),
    ulimits: c.ulimits?.map((u) => ({ name: u.name, soft: u.softLimit, hard: u.hardLimit })),
    init: lp?.initProcessEnabled,
    capAdd: lp?.capabilities?.add,
    capDrop: lp?.capabilities?.drop,
    devices: lp?.devices?.map((d) => ({
      hostPath: d.hostPath,
      containerPath: d.containerPath ?? d.hostPath,
      permissions: cgroupPermissions(d.permissions),
    })),
    deviceRequests: gpus.deviceRequests,
    shmSizeMiB: lp?.sharedMemorySize,
    tmpfs: lp?.tmpfs
      ? Object.fromEntries(lp.tmpfs.map((m) => [m.containerPath, [`size=${m.size}m`, ...(m.mountOptions ?? [])].join(",")]))
      : undefined,
    // ECS's maxSwap is swap on top of `memory`; Docker's MemorySwap is memory plus swap.
    memorySwapMiB: lp?.maxSwap !== undefined && c.memory !== undefined ? c.memory + lp.maxSwap : undefined,
    swappiness: lp?.swappiness,
    readonlyRootfs: c.readonlyRootFilesystem,
    privileged: c.privileged,
    dnsServers: c.dnsServers,
    dnsSearchDomains: c.dnsSearchDomains,
    extraHosts: c.extraHosts?.map((h) => `${h.hostname}:${h.ipAddress}`),
    healthCheck: hc
      ? { test: hc.command, intervalSeconds: hc.interval, timeoutSeconds: hc.timeout, retries: hc.retries, startPeriodSeconds: hc.startPeriod }
      : undefined,
    mounts: fl.mounts.length || c.mountPoints
      ? [
          ...(c.mountPoints ?? []).map((m) => {
            const v = volumes.get(m.sourceVolume);
            return { source: v ? volumeSource(t.taskId, v) : m.sourceVolume, target: m.containerPath, readOnly: m.readOnly ?? false };
          }),
          ...fl.mounts,
        ]
      : undefined,
    volumesFrom: c.volumesFrom?.map((v) => `${runtimeName(t.taskId, v.sourceContainer)}${v.readOnly ? ":ro" : ""}`),
    sysctls: c.systemControls ? Object.fromEntries(c.systemControls.map((s) => [s.namespace, s.value])) : undefined,
    interactive: c.interactive,
    tty: c.pseudoTerminal,
    pidMode: namespaceMode(td.pidMode, t.taskId),
    ipcMode: namespaceMode(td.ipcMode, t.taskId),
    logConfig: fl.logConfig ?? dockerLogConfig(c.logConfiguration, log.secretOptions),
    // ECS's "name" or "name:alias"; Docker wants the linked container's own name first.
    links: c.links?.map((l) => {
      const [name, alias] = l.split(":") as [string, string | undefined];
      return `${runtimeName(t.taskId, name)}:${alias ?? name}`;
    }),
    securityOpt: c.dockerSecurityOptions,
    cgroupParent,
  };
}

/**
 * awslogs (CloudWatch, which needs AWS) keeps the container's log in Docker's own store on the
 * host instead, so the task still starts on a host without AWS credentials and the logs API serves
 * it; so does awsfirelens until its router is placed (firelensParts). Docker's host-side drivers
 * (json-file, local, syslog, journald, fluentd, gelf, splunk) pass through as written.
 */
const KEPT_ON_HOST = new Set(["awslogs", "awsfirelens"]);

/** What a container's log settings take from outside its definition. */
export interface LogContext {
  /** logConfiguration.secretOptions values by option name, delivered with the desired task. */
  secretOptions?: Record<string, string>;
  /** The task's FireLens router, once its files exist (and, for an app container, once it runs). */
  firelens?: FirelensPlacement;
}

/** Where a task's FireLens router is, for its own spec and its app containers'. */
export interface FirelensPlacement {
  paths: ReturnType<typeof firelensPaths>;
  /**
   * Where app containers' Docker fluentd driver sends (Docker connects from the host): the router's
   * address on the bridge network (`tcp://IP:24224`, the forward input the config opens there), else
   * the unix socket in the task's host dir, as ECS does. Unset for the router itself.
   */
  address?: string;
  /** The router's bridge address: FLUENT_HOST/FLUENT_PORT for apps that log with a fluent library (ECS sets them). */
  routerHost?: string;
  /** The router's environment: the awsfirelens containers' secretOptions values by config variable. */
  routerEnv?: Record<string, string>;
}

/**
 * FireLens, as amazon-ecs-agent does it: the router gets its generated config and the socket dir
 * mounted where Fluent Bit / Fluentd look (Fluentd also FLUENT_UID=0, to open Docker's socket), an
 * awsfirelens container gets Docker's fluentd driver aimed at the router, tagged
 * `{container}-firelens-{taskId}`, async so a router restart does not block the app.
 */
function firelensParts(t: TaskIdentity, c: ContainerDefinition, fl: FirelensPlacement | undefined) {
  const none = { env: {} as Record<string, string>, mounts: [] as { source: string; target: string; readOnly: boolean }[], logConfig: undefined as ContainerSpec["logConfig"] };
  if (!fl) return none;
  if (c.firelensConfiguration) {
    return {
      ...none,
      env: { ...(c.firelensConfiguration.type === "fluentd" ? { FLUENT_UID: "0" } : {}), ...fl.routerEnv },
      mounts: [
        { source: fl.paths.configFile, target: FIRELENS_CONFIG_PATHS[c.firelensConfiguration.type], readOnly: false },
        { source: `${fl.paths.socketDir}/`, target: "/var/run/", readOnly: false },
      ],
    };
  }
  if (!usesFirelens(c) || !fl.address) return none;
  const bufferLimit = c.logConfiguration?.options?.[BUFFER_LIMIT_OPTION];
  return {
    ...none,
    env: fl.routerHost ? { FLUENT_HOST: fl.routerHost, FLUENT_PORT: String(FIRELENS_FORWARD_PORT) } : {},
    logConfig: {
      type: "fluentd",
      options: {
        tag: firelensTag(c.name, t.taskId),
        "fluentd-address": fl.address,
        "fluentd-async": "true",
        "fluentd-sub-second-precision": "true",
        ...(bufferLimit ? { "fluentd-buffer-limit": bufferLimit } : {}),
      },
    },
  };
}

/**
 * A host-side driver's LogConfig: its options as written plus its secretOptions' values (ECS
 * hands both to Docker the same way). Docker 20.10 keeps a local cache of every container's
 * output whatever the driver ("dual logging"), which is what the task logs API reads.
 */
export function dockerLogConfig(lc: ContainerDefinition["logConfiguration"], secretOptions: Record<string, string> = {}): ContainerSpec["logConfig"] {
  if (!lc || KEPT_ON_HOST.has(lc.logDriver)) return undefined;
  const options = { ...lc.options, ...secretOptions };
  return { type: lc.logDriver, options: Object.keys(options).length ? options : undefined };
}

/**
 * The agent's discovery responder as the container's DNS server, when the definition names none
 * (dnsServers it gives are the task's choice and stay). Only where the container owns its
 * network settings: bridge, host, and an awsvpc task's namespace holder (its containers join it);
 * a container joining another's namespace, or one with no network, has none to set.
 */
export function withDiscoveryDns(spec: ContainerSpec, dns: string | undefined): ContainerSpec {
  if (!dns || spec.dnsServers?.length || (spec.networkMode !== "bridge" && spec.networkMode !== "host")) return spec;
  return { ...spec, dnsServers: [dns] };
}
