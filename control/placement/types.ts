import type { InstanceStatus } from "../../shared/status.ts";
import type { Reservation } from "../../shared/task-definition/reservation.ts";

export type { InstanceStatus, Reservation };

export type HealthStatus = "OK" | "IMPAIRED" | "UNKNOWN";
export type CpuArchitecture = "X86_64" | "ARM64";

/**
 * What the placement engine knows about one container instance. The engine reads these and never
 * writes them; `ClusterIndex` owns its copies and changes them only through its own methods.
 */
export interface InstanceView {
  id: string;
  arn: string;
  status: InstanceStatus;
  agentConnected: boolean;
  healthStatus: HealthStatus;
  /** Epoch milliseconds. */
  registeredAt: number;
  /** Row version for the optimistic commit; the engine passes it through untouched. */
  version: number;
  registered: { cpu: number; memory: number };
  remaining: { cpu: number; memory: number };
  usedPorts: { tcp: Set<number>; udp: Set<number> };
  /** GPU ids the agent registered, in its order, and those live tasks hold. */
  gpus: { ids: readonly string[]; used: Set<string> };
  /** Automatic and custom attributes, e.g. "ecs.cpu-architecture" = "x86_64" | "arm64". */
  attributes: Record<string, string>;
  runningTasksCount: number;
  /** Task group ("family:web", "service:web") → number of live tasks of that group on this instance. */
  groups: Map<string, number>;
}

export type PlacementConstraint = { type: "distinctInstance" } | { type: "memberOf"; expression: string };

export interface PlacementStrategy {
  type: "spread" | "binpack" | "random";
  /** spread: "instanceId" | "host" | "attribute:NAME"; binpack: "cpu" | "memory"; random: none. */
  field?: string;
}

export interface RequiredAttribute {
  name: string;
  /** Absent: the instance only needs to have the attribute. */
  value?: string;
}

export interface PlacementRequest {
  /** 1..10 as in ECS RunTask. */
  count: number;
  reservation: Reservation;
  /** Task group the tasks belong to, e.g. "family:web" or "service:web". */
  group: string;
  constraints: PlacementConstraint[];
  strategies: PlacementStrategy[];
  requiredAttributes: RequiredAttribute[];
  cpuArchitecture?: CpuArchitecture;
  /**
   * StartTask: the one container instance the task must go to. Only it is considered, and a
   * refusal is its own reason (RESOURCE:MEMORY, AGENT), never the rest of the cluster's; an id the
   * index does not have fails with MISSING.
   */
  onInstance?: string;
  /**
   * A further test each candidate must pass, for rules that are not cluster query language
   * (deployment windows: only hosts inside their window). A refusal reads as a memberOf one.
   */
  admit?: (instance: InstanceView) => boolean;
  /**
   * TCP ports held on an instance by something other than tasks (the cluster's ingress listen
   * ports, docs/ingress.md): a task binding one statically is refused there (RESOURCE:PORTS).
   */
  heldTcpPorts?: (instance: InstanceView) => ReadonlySet<number>;
}

/**
 * ECS's failure reasons. "MISSING" is only used when the cluster has no container instances at all
 * (ECS uses MISSING for "not found"); every other refusal uses one of the eight placement reasons.
 */
export type FailureReason =
  | "AGENT"
  | "ATTRIBUTE"
  | "MemberOf placement constraint unsatisfied"
  | "DistinctInstance placement constraint unsatisfied"
  | "RESOURCE:CPU"
  | "RESOURCE:MEMORY"
  | "RESOURCE:PORTS"
  | "RESOURCE:GPU"
  | "MISSING";

export interface PlacementFailure {
  reason: FailureReason;
  detail: string;
  /** How many instances each filter rejected, keyed by its reason. */
  rejected: Record<string, number>;
}

export interface Placement {
  instanceId: string;
  /** The GPU ids this task gets on the instance, when it needs any (ECS picks specific devices). */
  gpuIds?: string[];
}

export interface PlacementResult {
  placements: Placement[];
  /** One entry per task that could not be placed. */
  failures: PlacementFailure[];
  /** Why each instance examined for the last task evaluated was refused. */
  rejections: Map<string, FailureReason>;
}

export interface PlaceOptions {
  /** Source of randomness in [0, 1); inject a seeded one for reproducible placements. */
  rng?: () => number;
  /** How many feasible candidates to score per task; see sampling.ts for the default. */
  sampleLimit?: number;
}
