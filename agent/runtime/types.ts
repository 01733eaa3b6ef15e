/**
 * The container runtime the agent drives. The Docker implementation is the real one; the hollow
 * runtime used by scale benchmarks implements the same interface in memory.
 */

export type ImagePullBehavior = "default" | "always" | "once" | "prefer-cached";

export interface PortBinding {
  containerPort: number;
  /** 0 lets the runtime choose a free host port. */
  hostPort: number;
  protocol: "tcp" | "udp";
  /** Host address the port is bound on (reported as ECS networkBindings[].bindIP). */
  hostIp?: string;
}

/** Docker-style health check, runtime-neutral (seconds). */
export interface HealthCheckSpec {
  /** ["CMD", exe, ...args] | ["CMD-SHELL", "command"] | ["NONE"] */
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds?: number;
}

/** A bind mount: a host path or a named volume at a path in the container. */
export interface MountSpec {
  /** Absolute host path (bind) or volume name. */
  source: string;
  target: string;
  readOnly: boolean;
}

/** A named volume the agent makes sure exists before the containers that mount it are created. */
export interface VolumeSpec {
  name: string;
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}

/** Everything needed to create one container; runtime-neutral, built from a container definition. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  command?: string[];
  entryPoint?: string[];
  env?: Record<string, string>;
  workingDirectory?: string;
  user?: string;
  hostname?: string;
  /** Hard memory limit in MiB. */
  memoryMiB?: number;
  /** Soft memory limit in MiB. */
  memoryReservationMiB?: number;
  cpuShares?: number;
  /** Docker network mode; `container:ID` joins another container's network namespace (awsvpc tasks). */
  networkMode: "bridge" | "host" | "none" | `container:${string}`;
  /** A user-defined bridge network to attach to instead of Docker's default bridge. */
  networkName?: string;
  portBindings: PortBinding[];
  stopTimeoutSeconds: number;
  ulimits?: { name: string; soft: number; hard: number }[];
  /** Docker's --init (linuxParameters.initProcessEnabled). */
  init?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  devices?: { hostPath: string; containerPath: string; permissions: string }[];
  /** Docker device requests (GPUs: driver "nvidia", the device ids, capabilities [["gpu"]]). */
  deviceRequests?: { driver: string; deviceIds: string[]; capabilities: string[][] }[];
  readonlyRootfs?: boolean;
  privileged?: boolean;
  dnsServers?: string[];
  dnsSearchDomains?: string[];
  /** "hostname:ip" entries for /etc/hosts. */
  extraHosts?: string[];
  healthCheck?: HealthCheckSpec;
  mounts?: MountSpec[];
  /** Runtime names of containers whose volumes this one mounts, with ":ro" for read-only. */
  volumesFrom?: string[];
  shmSizeMiB?: number;
  /** Container path → mount options ("size=64m,noexec"). */
  tmpfs?: Record<string, string>;
  /** Memory plus swap in MiB (Docker's MemorySwap). */
  memorySwapMiB?: number;
  swappiness?: number;
  sysctls?: Record<string, string>;
  interactive?: boolean;
  tty?: boolean;
  pidMode?: string;
  ipcMode?: string;
  /** The task's cgroup (from ensureTaskCgroup): the container's own cgroup is created below it. */
  cgroupParent?: string;
  logConfig?: { type: string; options?: Record<string, string> };
  /** Docker links: `runtimeName:alias` of containers of the same task (bridge networks). */
  links?: string[];
  /** Docker security options (`no-new-privileges`, `apparmor:…`, `seccomp:…`, `label:…`). */
  securityOpt?: string[];
}

export type RuntimeState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface RuntimeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: RuntimeState;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Host ports actually bound (dynamic ones resolved). */
  ports?: PortBinding[];
  error?: string;
  /** Docker health check state, when the container has a check. */
  health?: "starting" | "healthy" | "unhealthy";
  /** Network name → the container's IPv4 address on it. */
  ipAddresses?: Record<string, string>;
  /** The kernel's OOM killer ended the container (its own memory limit or its task's). */
  oomKilled?: boolean;
  /** The image's id (`sha256:…`) the container was created from (inspect only). */
  imageId?: string;
  /** When the engine created the container (inspect only). */
  createdAt?: number;
  /** Volumes and bind mounts (inspect only): a named volume's name, host source and container path. */
  mounts?: { name?: string; source: string; destination: string }[];
}

/**
 * One reading of a container's resource use in the Docker Engine's stats shape (`cpu_stats`,
 * `precpu_stats`, `memory_stats`, `networks`, `blkio_stats`, …), as the engine returns it: the task
 * metadata endpoint passes it on unchanged, as ECS's does.
 */
export type ContainerStats = Record<string, unknown>;

/** Task-level `cpu` and `memory` (ECS task size), enforced for the task's containers together. */
export interface TaskResourceLimits {
  /** CPU units (1024 = one CPU): cpu shares, and a CFS quota of cpuUnits/1024 CPUs. */
  cpuUnits?: number;
  /** Hard limit in MiB for all the task's containers together. */
  memoryMiB?: number;
}

/** A task cgroup to put the task's containers under, or why this host cannot have one. */
export type TaskCgroupResult = { cgroupParent: string } | { unavailable: string };

export interface RuntimeInfo {
  version: string;
  cpus: number;
  memoryBytes: number;
  /** Docker's architecture name, e.g. x86_64 or aarch64. */
  architecture: string;
  osType: string;
  /** Where the runtime keeps images and containers (Docker's DockerRootDir), for the disk check. */
  dataRoot?: string;
}

export class RuntimeError extends Error {
  constructor(
    /** ECS-style error class name, used in stoppedReason (e.g. CannotPullContainerError). */
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = kind;
  }
}

/** A user name and password for one pull from a private registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Progress of an image pull, summed over its layers (see runtime/pull-progress.ts). */
export interface PullSummary {
  layers: number;
  layersDone: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface LogOptions {
  /** Only the last N lines. */
  tail?: number;
  /** Only lines written at or after this time (unix seconds). */
  since?: number;
  follow?: boolean;
}

export interface LogChunk {
  stream: "stdout" | "stderr";
  data: Uint8Array;
}

export interface ExecOptions {
  command: string[];
  /** Under a pty: stdout and stderr merged, resizable, the terminal's line discipline applies. */
  tty: boolean;
  /** Keep the command's stdin open for write() until closeStdin(). */
  stdin: boolean;
  size?: { cols: number; rows: number };
}

/** A command running in a container (Docker exec). */
export interface ExecProcess {
  /** The command's output as it comes; ends when the command closes its output. */
  output: AsyncIterable<LogChunk>;
  write(bytes: Uint8Array): void;
  closeStdin(): void;
  resize(size: { cols: number; rows: number }): Promise<void>;
  /** Resolves with the exit code once the command has finished (after its output ended). */
  exitCode(): Promise<number>;
  /** Kills the command (under a pty its whole process group) and ends its output; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface ContainerRuntime {
  info(): Promise<RuntimeInfo>;
  /**
   * Makes the image available locally according to the pull behaviour; throws RuntimeError.
   * Resolves true when this call pulled an image the engine did not have before (so the agent
   * owns it for image cleanup). `credentials` (from the task's repositoryCredentials) take
   * precedence over the runtime's own per-registry credentials.
   */
  ensureImage(
    image: string,
    behavior: ImagePullBehavior,
    onProgress?: (s: PullSummary) => void,
    credentials?: RegistryCredentials,
  ): Promise<boolean | void>;
  /** Image ids and references used by any container on the engine (all agents', and others'). */
  imagesInUse?(): Promise<Set<string>>;
  /** The image's id, or null when the engine does not have it. */
  imageId?(image: string): Promise<string | null>;
  /** The image's labels ({} when it has none), or null when the engine does not have it. */
  imageLabels(image: string): Promise<Record<string, string> | null>;
  /**
   * Loads images from a `docker save` archive (Docker's image load API), tags included; throws
   * RuntimeError. How the agent's built-in pause image gets into the engine without a registry.
   */
  loadImage(archive: Uint8Array): Promise<void>;
  /** Removes one image reference (never forced: an image a container uses is refused). */
  removeImage?(image: string): Promise<void>;
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** Stop signal, then kill after the timeout; resolves once the container is no longer running. */
  stop(id: string, timeoutSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** All containers (running or not) whose labels include every given label. */
  list(labels: Record<string, string>): Promise<RuntimeContainer[]>;
  inspect(id: string): Promise<RuntimeContainer | null>;
  /**
   * One stats reading of a container (Docker's `stream=false`: the engine takes two samples, so
   * `precpu_stats` is filled and CPU use can be computed from the one body); null when the container
   * does not exist.
   */
  stats(id: string): Promise<ContainerStats | null>;
  /**
   * This host's address on the engine's default bridge network (Docker's docker0 gateway), or null
   * when the engine has none. Containers on any bridge network and host-mode containers reach it.
   */
  bridgeAddress?(): Promise<string | null>;
  /**
   * A container's log output (stdout and stderr interleaved as written), ending when the
   * container stops (follow) or at the end of what is stored; aborting the signal ends it early.
   */
  logs?(id: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogChunk>;
  /** Runs a command in a running container (throws RuntimeError when it cannot start). */
  exec?(id: string, opts: ExecOptions): Promise<ExecProcess>;
  /** Creates a user-defined bridge network unless it exists (idempotent, safe against races). */
  ensureNetwork?(name: string): Promise<void>;
  /** Makes a named volume exist; with create false, only checks that it does (RuntimeError if not). */
  ensureVolume?(v: VolumeSpec, create: boolean): Promise<void>;
  removeVolume?(name: string): Promise<void>;
  /**
   * Creates (idempotently: an adopted task gets the same one back) the task's cgroup with its limits,
   * before the task's containers. `unavailable` (with a reason) when the host cannot enforce them;
   * the task then runs without (throws RuntimeError only for a failure specific to this task).
   */
  ensureTaskCgroup?(taskId: string, limits: TaskResourceLimits): Promise<TaskCgroupResult>;
  /** Removes the task's cgroup once its containers are gone; idempotent. */
  removeTaskCgroup?(taskId: string): Promise<void>;
  /** Calls onHint when something may have changed; hints only, the relist is the truth. */
  watch(labels: Record<string, string>, onHint: () => void): () => void;
}
