import { z } from "zod";
import { CONTAINER_STATUSES, DESIRED_STATUSES, TASK_STATUSES } from "./status.ts";
import { taskOverrideSchema } from "./task-definition/overrides.ts";

/**
 * Agent ↔ control messages. Both sides parse every message with these schemas; a message that does
 * not parse is counted and dropped, never acted on.
 */

/** A GPU id as the agent registers it: NVIDIA's UUID (GPU-…), or the device index when no UUID is known. */
export const gpuIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

export const resourcesSchema = z.object({
  cpu: z.number().int().nonnegative(),
  memory: z.number().int().nonnegative(),
  /** NVIDIA GPUs the agent found (only with GPU support enabled); ECS registers them as the STRINGSET resource "GPU". */
  gpus: z.array(gpuIdSchema).max(64).optional(),
});
export type Resources = z.infer<typeof resourcesSchema>;

export const versionInfoSchema = z.object({
  agentVersion: z.string(),
  agentHash: z.string().optional(),
  dockerVersion: z.string(),
});
export type VersionInfo = z.infer<typeof versionInfoSchema>;

export const hostFactsSchema = z.object({
  hostname: z.string(),
  resources: resourcesSchema,
  attributes: z.record(z.string(), z.string()),
  versionInfo: versionInfoSchema,
  /**
   * Addresses other hosts can reach this one at, best first: the operator's --advertise-address
   * when given, then the host's non-loopback IPv4 and IPv6 addresses (service endpoints use the first).
   */
  addresses: z.array(z.string().min(1).max(255)).max(64).optional(),
});
export type HostFacts = z.infer<typeof hostFactsSchema>;

// ---- registration (activation credentials) ----
export const registerRequestSchema = hostFactsSchema;
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerReplySchema = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    instanceId: z.string(),
    containerInstanceArn: z.string(),
    clusterName: z.string(),
    clusterArn: z.string(),
    /** MQTT credentials of the new instance: username is the instance id. */
    username: z.string(),
    password: z.string(),
    /** Echo of the request's nonce: several agents may register with one activation at once. */
    nonce: z.string().optional(),
  }),
  z.object({ ok: z.literal(false), error: z.string(), nonce: z.string().optional() }),
]);
export type RegisterReply = z.infer<typeof registerReplySchema>;

// ---- desired state (control → agent, retained) ----
export const desiredTaskSchema = z.object({
  taskId: z.string(),
  taskArn: z.string(),
  family: z.string(),
  revision: z.number().int(),
  taskDefinitionArn: z.string(),
  desiredStatus: z.enum(DESIRED_STATUSES),
  /** Why the control service wants it stopped, when it does. */
  stoppedReason: z.string().optional(),
  stopCode: z.string().optional(),
  /** The normalised task definition; parsed again by the agent per task. */
  definition: z.unknown(),
  /**
   * RunTask/StartTask overrides (ECS TaskOverride: container command, environment, cpu, memory):
   * the agent runs the definition with them applied (shared/task-definition/overrides.ts).
   */
  overrides: taskOverrideSchema.optional(),
  /**
   * Secret values (task definition `secrets`) by container and variable name, for tasks that should
   * run. Only in this instance's own desired topic; the agent keeps them in memory only.
   */
  secrets: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  /**
   * Registry credentials by container name, from the secret each container's
   * repositoryCredentials.credentialsParameter names; delivered and kept like `secrets`.
   */
  registryCredentials: z.record(z.string(), z.object({ username: z.string(), password: z.string() })).optional(),
  /**
   * Log driver options from secrets (logConfiguration.secretOptions) by container and option name
   * (`splunk-token`, ...); delivered and kept like `secrets`, handed to Docker's LogConfig only.
   */
  logSecretOptions: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  /**
   * GPU ids placement reserved for the task, by container name (ECS's container gpuIds): the
   * agent hands exactly these to Docker as device requests.
   */
  gpuIds: z.record(z.string(), z.array(gpuIdSchema)).optional(),
});
export type DesiredTask = z.infer<typeof desiredTaskSchema>;

/**
 * An image pre-pull the control wants on this host (POST /v1/clusters/{c}/image-prefetch): listed
 * in the retained desired set until the agent reported every image DONE or FAILED, so it survives
 * reconnects and agent restarts like the tasks do.
 */
export const desiredPrefetchSchema = z.object({
  prefetchId: z.string().min(1).max(64),
  images: z.array(z.string().min(1).max(512)).min(1).max(100),
});
export type DesiredPrefetch = z.infer<typeof desiredPrefetchSchema>;

export const desiredStateSchema = z.object({
  instanceId: z.string(),
  clusterName: z.string(),
  generation: z.number().int().nonnegative(),
  tasks: z.array(desiredTaskSchema),
  prefetch: z.array(desiredPrefetchSchema).max(100).optional(),
  /** Image pulls at a time on the host, from its `flotilla.max-concurrent-pulls` attribute (shared/pull-limit.ts); absent: the agent's flag. */
  maxConcurrentPulls: z.number().int().min(1).max(64).optional(),
  /** Image download bandwidth cap, from its `flotilla.max-pull-bytes-per-second` attribute (shared/pull-limit.ts); absent: the agent's flag. */
  maxPullBytesPerSecond: z.number().int().min(1024).optional(),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

// ---- known state (agent → control) ----
export const HEALTH_STATUSES = ["HEALTHY", "UNHEALTHY", "UNKNOWN"] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const reportedContainerSchema = z.object({
  name: z.string(),
  image: z.string(),
  status: z.enum(CONTAINER_STATUSES),
  runtimeId: z.string().optional(),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  essential: z.boolean().optional(),
  /** Present for containers with a healthCheck. */
  healthStatus: z.enum(HEALTH_STATUSES).optional(),
  /** Restarts in place by the container's restartPolicy. */
  restartCount: z.number().int().nonnegative().optional(),
  /** Host ports actually bound, in ECS's networkBindings shape. */
  networkBindings: z
    .array(z.object({ bindIP: z.string(), containerPort: z.number().int(), hostPort: z.number().int(), protocol: z.enum(["tcp", "udp"]) }))
    .optional(),
  /** awsvpc: the task's own address, in ECS's networkInterfaces shape. */
  networkInterfaces: z.array(z.object({ attachmentId: z.string(), privateIpv4Address: z.string() })).optional(),
});
export type ReportedContainer = z.infer<typeof reportedContainerSchema>;

/**
 * A task's health as ECS derives it: UNHEALTHY if any essential container with a check is, HEALTHY
 * when every essential container with a check is (and there is at least one), otherwise UNKNOWN.
 */
export function taskHealthStatus(containers: { essential?: boolean; healthStatus?: HealthStatus }[]): HealthStatus {
  const checked = containers.filter((c) => c.essential !== false && c.healthStatus !== undefined);
  if (checked.some((c) => c.healthStatus === "UNHEALTHY")) return "UNHEALTHY";
  if (checked.length > 0 && checked.every((c) => c.healthStatus === "HEALTHY")) return "HEALTHY";
  return "UNKNOWN";
}

/** Something that happened to a task on its host, as the agent saw it (ms since epoch). */
export const taskEventSchema = z.object({ at: z.number(), message: z.string().max(1024) });
export type TaskEvent = z.infer<typeof taskEventSchema>;
/** How many events a task keeps (agent state, reports and the control's task row). */
export const MAX_TASK_EVENTS = 20;

export const reportedTaskSchema = z.object({
  taskId: z.string(),
  knownStatus: z.enum(TASK_STATUSES),
  startedAt: z.number().optional(),
  stoppingAt: z.number().optional(),
  stoppedAt: z.number().optional(),
  stoppedReason: z.string().optional(),
  stopCode: z.string().optional(),
  /** taskHealthStatus(containers) as the agent sees it; the control stores its own, from the containers. */
  healthStatus: z.enum(HEALTH_STATUSES).optional(),
  containers: z.array(reportedContainerSchema),
  /** The agent's last few task events (pull progress, transitions), oldest first. */
  events: z.array(taskEventSchema).max(MAX_TASK_EVENTS).optional(),
});
export type ReportedTask = z.infer<typeof reportedTaskSchema>;

// ---- instance health (agent → control, inside reports when it changed) ----
export const HEALTH_CHECK_TYPES = ["CONTAINER_RUNTIME", "DISK_SPACE", "MEMORY_PRESSURE"] as const;
export const instanceHealthSchema = z.object({
  overallStatus: z.enum(["OK", "IMPAIRED"]),
  details: z.array(
    z.object({
      type: z.enum(HEALTH_CHECK_TYPES),
      status: z.enum(["OK", "IMPAIRED"]),
      /** Why it is impaired, or why it could not be measured. */
      reason: z.string().optional(),
      lastStatusChange: z.number(),
    }),
  ),
  /** Light host metrics: percentages 0-100, bytes. */
  metrics: z.object({
    cpuUtilization: z.number().min(0).max(100).optional(),
    memoryUtilization: z.number().min(0).max(100).optional(),
    diskFreeBytes: z.number().nonnegative().optional(),
    diskTotalBytes: z.number().nonnegative().optional(),
  }),
  checkedAt: z.number(),
});
export type InstanceHealth = z.infer<typeof instanceHealthSchema>;

/** ECS's agentUpdateStatus values. */
export const AGENT_UPDATE_STATUSES = ["PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED", "FAILED"] as const;
export type AgentUpdateStatus = (typeof AGENT_UPDATE_STATUSES)[number];

/** Where the agent's last self-upgrade stands (kept across its re-exec in the data dir). */
export const agentUpdateSchema = z.object({
  status: z.enum(AGENT_UPDATE_STATUSES),
  /** The version the upgrade is to. */
  version: z.string().max(64),
  /** Why it FAILED. */
  reason: z.string().max(1024).optional(),
});
export type AgentUpdate = z.infer<typeof agentUpdateSchema>;

export const PREFETCH_STATUSES = ["PENDING", "PULLING", "DONE", "FAILED"] as const;
export type PrefetchStatus = (typeof PREFETCH_STATUSES)[number];

/** One image of a prefetch as the agent saw it (times: the agent's clock, ms). */
export const reportedPrefetchImageSchema = z.object({
  image: z.string().min(1).max(512),
  status: z.enum(PREFETCH_STATUSES),
  /** Why it FAILED (the runtime's error, e.g. the registry's answer). */
  reason: z.string().max(1024).optional(),
  /** When the pull got its slot under --max-concurrent-pulls, and when it ended. */
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
});
export type ReportedPrefetchImage = z.infer<typeof reportedPrefetchImageSchema>;

export const reportedPrefetchSchema = z.object({
  prefetchId: z.string().min(1).max(64),
  images: z.array(reportedPrefetchImageSchema).max(100),
});
export type ReportedPrefetch = z.infer<typeof reportedPrefetchSchema>;

export const reportSchema = z.object({
  instanceId: z.string(),
  /** Random per agent process start; with seq it orders reports from one process. */
  bootId: z.string(),
  seq: z.number().int().nonnegative(),
  /** Highest desired generation the agent has received (0: none yet). */
  generation: z.number().int().nonnegative(),
  sentAt: z.number(),
  facts: hostFactsSchema.optional(),
  health: instanceHealthSchema.optional(),
  /** The agent's self-upgrade state, when it has had one. */
  agentUpdate: agentUpdateSchema.optional(),
  /** The image prefetches of the current desired set, with each image's progress. */
  prefetches: z.array(reportedPrefetchSchema).max(100).optional(),
  /** Ingress listen ports this host's proxy could not bind (docs/ingress.md); absent: none. */
  ingressProblems: z.array(z.object({ listenPort: z.number().int().min(1).max(65535), message: z.string().max(500) })).max(64).optional(),
  tasks: z.array(reportedTaskSchema),
});
export type Report = z.infer<typeof reportSchema>;

// ---- container stats (agent → control, own topic, QoS 0) ----
/** Most tasks one stats message may carry (a host runs far fewer; a larger message is dropped). */
export const MAX_STATS_TASKS = 1000;
/** Most containers per task in a stats message (ECS allows 10 container definitions per task). */
export const MAX_STATS_CONTAINERS = 10;

/**
 * One container's use in a sample: `[cpu, memory]`. cpu is CPU units in use (1024 = one CPU, ECS's
 * CpuUtilized), rounded to 0.1, averaged over the reading, or null when it could not be computed;
 * memory is bytes in use (Docker's usage less the inactive page cache, as `docker stats` shows it).
 * A tuple rather than an object: the names would be most of each sample's bytes.
 */
export const containerUsageSchema = z.tuple([z.number().nonnegative().max(1e7).nullable(), z.number().int().nonnegative().max(2 ** 53)]);
export type ContainerUsage = z.infer<typeof containerUsageSchema>;

/**
 * The running containers' sampled use, by task id then container name, taken at `at` (agent
 * clock, ms). Sent every stats interval (30 s by default) apart from the full-state reports, so
 * they stay as small as they were. The topic names the instance (the broker binds it to the
 * sender); a task missing from a message no longer runs there.
 */
export const statsMessageSchema = z.object({
  at: z.number(),
  tasks: z
    .record(z.string().min(1).max(64), z.record(z.string().min(1).max(255), containerUsageSchema).refine((c) => Object.keys(c).length <= MAX_STATS_CONTAINERS, `at most ${MAX_STATS_CONTAINERS} containers per task`))
    .refine((t) => Object.keys(t).length <= MAX_STATS_TASKS, `at most ${MAX_STATS_TASKS} tasks`),
});
export type StatsMessage = z.infer<typeof statsMessageSchema>;

// ---- presence (agent → control, retained and MQTT last will) ----
export const presenceSchema = z.object({
  connected: z.boolean(),
  /** Connection epoch (agent clock, ms): an "offline" older than the current connection is stale. */
  epoch: z.number(),
});
export type Presence = z.infer<typeof presenceSchema>;

/** Parses a JSON MQTT payload with a schema; null when it is not JSON or does not match. */
export function decodeMessage<T extends z.ZodType>(schema: T, payload: Uint8Array | string): z.infer<T> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === "string" ? payload : new TextDecoder().decode(payload));
  } catch {
    return null;
  }
  const r = schema.safeParse(raw);
  return r.success ? r.data : null;
}

// ---- on-demand requests (control → agent on req, agent → control on res) ----
/** Log lines of one task container; `since` in unix seconds, `follow` streams until cancelled. */
export const logsRequestSchema = z.object({
  kind: z.literal("logs"),
  requestId: z.string().min(1).max(64),
  taskId: z.string().min(1),
  container: z.string().min(1),
  tail: z.number().int().nonnegative().optional(),
  since: z.number().nonnegative().optional(),
  follow: z.boolean().default(false),
  /**
   * Flow control: data pieces the agent may send before it is granted more with `credit` requests
   * (as the HTTP client reads). Absent: no credit needed (an older control service).
   */
  credit: z.number().int().positive().max(10_000).optional(),
});
export type LogsRequest = z.infer<typeof logsRequestSchema>;

/** Ends a streaming request early (the HTTP client went away). */
export const cancelRequestSchema = z.object({ kind: z.literal("cancel"), requestId: z.string().min(1).max(64) });

/**
 * Sent periodically while follows are open: streams the control no longer names (it restarted,
 * or its client went away unnoticed) are ended by the agent after a few missed keepalives.
 */
export const keepaliveRequestSchema = z.object({ kind: z.literal("keepalive"), requestIds: z.array(z.string().min(1).max(64)).max(1000) });

/** More data pieces the agent may send on a stream (logs or exec) opened with `credit` (the client read that many). */
export const creditRequestSchema = z.object({ kind: z.literal("credit"), requestId: z.string().min(1).max(64), pieces: z.number().int().positive().max(10_000) });

/** Terminal size of an exec session's pty, in character cells. */
export const terminalSizeSchema = z.object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) });

/**
 * Starts a command in a task's container (ECS Exec). The agent runs it only in a container of a
 * task it runs itself; output comes back as numbered pieces on `res` (base64 `bytes`), the last
 * one with `exitCode`. `cancel` kills the command.
 */
export const execRequestSchema = z.object({
  kind: z.literal("exec"),
  requestId: z.string().min(1).max(64),
  taskId: z.string().min(1),
  container: z.string().min(1),
  command: z.array(z.string().max(64 * 1024)).min(1).max(1000),
  /** Keep stdin open for `exec-input` pieces. */
  interactive: z.boolean().default(false),
  /** Run under a pty (stdout and stderr merged, as a terminal shows them). */
  tty: z.boolean().default(false),
  size: terminalSizeSchema.optional(),
  /** The agent kills the command when the session lasts longer than this. */
  timeoutMs: z.number().int().positive().max(24 * 3600_000),
  /**
   * Output pieces the agent may send before `credit` requests grant more (the control grants as
   * its client takes them); absent: no credit needed.
   */
  credit: z.number().int().positive().max(10_000).optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

/**
 * Input to an open exec session, numbered from 0 (the agent applies pieces in order, whatever
 * order they arrive in): stdin bytes (base64), a pty resize, or the end of stdin.
 */
export const execInputRequestSchema = z.object({
  kind: z.literal("exec-input"),
  requestId: z.string().min(1).max(64),
  seq: z.number().int().nonnegative(),
  bytes: z.string().max(256 * 1024).optional(),
  resize: terminalSizeSchema.optional(),
  eof: z.boolean().optional(),
});
export type ExecInputRequest = z.infer<typeof execInputRequestSchema>;

/**
 * Upgrade the agent to a release (docs/agent-upgrades.md): the agent downloads `url` (a short-lived
 * token in it lets it through), checks that the bytes hash to `sha256` and that `signature` signs
 * that digest under a release key the agent itself trusts, swaps its binary and re-executes.
 */
export const upgradeRequestSchema = z.object({
  kind: z.literal("upgrade"),
  requestId: z.string().min(1).max(64),
  version: z.string().min(1).max(64),
  url: z.string().url().max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string().min(1).max(256),
});
export type UpgradeRequest = z.infer<typeof upgradeRequestSchema>;

export const agentRequestSchema = z.discriminatedUnion("kind", [logsRequestSchema, cancelRequestSchema, keepaliveRequestSchema, creditRequestSchema, execRequestSchema, execInputRequestSchema, upgradeRequestSchema]);
export type AgentRequest = z.input<typeof agentRequestSchema>;

/**
 * One piece of a response stream. seq starts at 0 and rises by one; the first piece (seq 0) comes
 * at once, with data or not, so the control knows the agent took the request. `end` closes the
 * stream; `error` (with end) says why it could not be served.
 */
export const responseChunkSchema = z.object({
  requestId: z.string(),
  seq: z.number().int().nonnegative(),
  data: z.string().optional(),
  end: z.boolean().optional(),
  error: z.string().optional(),
  /** Exec output, base64 (a pty's output is bytes, not always whole UTF-8 characters). */
  bytes: z.string().optional(),
  /** Exec output from stderr (without a pty; with one, everything is on stdout). */
  stderr: z.boolean().optional(),
  /** Exec: the command's exit code, on the last piece. */
  exitCode: z.number().int().optional(),
});
export type ResponseChunk = z.infer<typeof responseChunkSchema>;
