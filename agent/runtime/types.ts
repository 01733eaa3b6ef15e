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
  networkMode: "bridge" | "host" | "none";
  portBindings: PortBinding[];
  stopTimeoutSeconds: number;
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
}

export interface RuntimeInfo {
  version: string;
  cpus: number;
  memoryBytes: number;
  /** Docker's architecture name, e.g. x86_64 or aarch64. */
  architecture: string;
  osType: string;
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

export interface ContainerRuntime {
  info(): Promise<RuntimeInfo>;
  /** Makes the image available locally according to the pull behaviour; throws RuntimeError. */
  ensureImage(image: string, behavior: ImagePullBehavior): Promise<void>;
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** Stop signal, then kill after the timeout; resolves once the container is no longer running. */
  stop(id: string, timeoutSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** All containers (running or not) whose labels include every given label. */
  list(labels: Record<string, string>): Promise<RuntimeContainer[]>;
  inspect(id: string): Promise<RuntimeContainer | null>;
  /** Calls onHint when something may have changed; hints only, the relist is the truth. */
  watch(labels: Record<string, string>, onHint: () => void): () => void;
}
