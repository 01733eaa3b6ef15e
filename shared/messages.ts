import { z } from "zod";
import { CONTAINER_STATUSES, DESIRED_STATUSES, TASK_STATUSES } from "./status.ts";

/**
 * Agent ↔ control messages. Both sides parse every message with these schemas; a message that does
 * not parse is counted and dropped, never acted on.
 */

export const resourcesSchema = z.object({ cpu: z.number().int().nonnegative(), memory: z.number().int().nonnegative() });
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
  }),
  z.object({ ok: z.literal(false), error: z.string() }),
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
});
export type DesiredTask = z.infer<typeof desiredTaskSchema>;

export const desiredStateSchema = z.object({
  instanceId: z.string(),
  clusterName: z.string(),
  generation: z.number().int().nonnegative(),
  tasks: z.array(desiredTaskSchema),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

// ---- known state (agent → control) ----
export const reportedContainerSchema = z.object({
  name: z.string(),
  image: z.string(),
  status: z.enum(CONTAINER_STATUSES),
  runtimeId: z.string().optional(),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
});
export type ReportedContainer = z.infer<typeof reportedContainerSchema>;

export const reportedTaskSchema = z.object({
  taskId: z.string(),
  knownStatus: z.enum(TASK_STATUSES),
  startedAt: z.number().optional(),
  stoppingAt: z.number().optional(),
  stoppedAt: z.number().optional(),
  stoppedReason: z.string().optional(),
  stopCode: z.string().optional(),
  containers: z.array(reportedContainerSchema),
});
export type ReportedTask = z.infer<typeof reportedTaskSchema>;

export const reportSchema = z.object({
  instanceId: z.string(),
  /** Random per agent process start; with seq it orders reports from one process. */
  bootId: z.string(),
  seq: z.number().int().nonnegative(),
  /** Highest desired generation the agent has received (0: none yet). */
  generation: z.number().int().nonnegative(),
  sentAt: z.number(),
  facts: hostFactsSchema.optional(),
  tasks: z.array(reportedTaskSchema),
});
export type Report = z.infer<typeof reportSchema>;

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
