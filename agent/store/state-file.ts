import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CONTAINER_STATUSES, DESIRED_STATUSES, TASK_STATUSES } from "../../shared/status.ts";
import { taskOverrideSchema } from "../../shared/task-definition/overrides.ts";
import { readFileIfExists, writeFileAtomic } from "./atomic-file.ts";

/**
 * The agent's versioned on-disk state (as amazon-ecs-agent keeps one): what it was told and what it
 * knows, so a restarted agent re-adopts its containers instead of starting them again.
 */
export const STATE_VERSION = 1;

const agentContainerSchema = z.object({
  name: z.string(),
  image: z.string(),
  essential: z.boolean(),
  knownStatus: z.enum(CONTAINER_STATUSES),
  runtimeId: z.string().optional(),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** Removed from the runtime by the cleanup sweep. */
  removed: z.boolean().optional(),
  /** Docker health check result, for containers with a healthCheck. */
  healthStatus: z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]).optional(),
  /** Restarts in place by the container's restartPolicy, and when the last one happened. */
  restartCount: z.number().int().optional(),
  lastRestartAt: z.number().optional(),
  /** Host ports actually bound (ECS networkBindings). */
  networkBindings: z
    .array(z.object({ bindIP: z.string(), containerPort: z.number().int(), hostPort: z.number().int(), protocol: z.enum(["tcp", "udp"]) }))
    .optional(),
  /** The task's own address (awsvpc). */
  privateIpv4Address: z.string().optional(),
});
export type AgentContainer = z.infer<typeof agentContainerSchema>;

const agentTaskSchema = z.object({
  taskId: z.string(),
  taskArn: z.string(),
  family: z.string(),
  revision: z.number().int(),
  taskDefinitionArn: z.string(),
  /** The normalised task definition, kept so the task can be run and restarted offline. */
  definition: z.unknown(),
  /** RunTask/StartTask overrides, applied to the definition when the task runs (kept for restarts). */
  overrides: taskOverrideSchema.optional(),
  desiredStatus: z.enum(DESIRED_STATUSES),
  knownStatus: z.enum(TASK_STATUSES),
  startedAt: z.number().optional(),
  stoppingAt: z.number().optional(),
  stoppedAt: z.number().optional(),
  stoppedReason: z.string().optional(),
  stopCode: z.string().optional(),
  containers: z.array(agentContainerSchema),
  /** No longer in the desired set: forgotten once its containers are cleaned up. */
  dropped: z.boolean().optional(),
  /** The last few things that happened to the task (pull progress, transitions), oldest first. */
  events: z.array(z.object({ at: z.number(), message: z.string() })).optional(),
});
export type AgentTask = z.infer<typeof agentTaskSchema>;

const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  /** Highest desired generation received. */
  generation: z.number().int().nonnegative(),
  /** Last connection epoch used, so epochs keep rising even if the host clock steps back. */
  lastEpoch: z.number(),
  tasks: z.record(z.string(), agentTaskSchema),
  /** Images this agent pulled itself (reference → pull time): the only ones image cleanup may remove. */
  pulledImages: z.record(z.string(), z.number()).optional(),
});
export type AgentState = z.infer<typeof stateSchema>;

export interface StateStore {
  load(): AgentState;
  save(state: AgentState): void;
}

export function emptyState(): AgentState {
  return { version: STATE_VERSION, generation: 0, lastEpoch: 0, tasks: {} };
}

/** State in `DATA_DIR/state.json`, written atomically. */
export function fileStateStore(dataDir: string): StateStore {
  const path = join(dataDir, "state.json");
  return {
    load() {
      removeTempFiles(dataDir);
      const raw = readFileIfExists(path);
      if (raw === null) return emptyState();
      const parsed = stateSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) throw new Error(`${path} is not a version ${STATE_VERSION} agent state file`);
      return parsed.data;
    },
    save(state) {
      writeFileAtomic(path, JSON.stringify(state), 0o600);
    },
  };
}

/** Temp files of writes a crash cut short (the rename never happened): nothing in them is needed. */
function removeTempFiles(dataDir: string): void {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith("state.json.tmp-")) rmSync(join(dataDir, n), { force: true });
}

/** In-memory store for tests and the hollow fleet. */
export function memoryStateStore(initial: AgentState = emptyState()): StateStore {
  let state = structuredClone(initial);
  return {
    load: () => structuredClone(state),
    save: (s) => void (state = structuredClone(s)),
  };
}

/** What every reader outside a task's runner gets: the compiler refuses a second writer. */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
export type ReadonlyAgentTask = DeepReadonly<AgentTask>;
export type ReadonlyAgentState = DeepReadonly<AgentState>;
