import { eq } from "drizzle-orm";
import { z } from "zod";
import { containerInstances } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { conflict, invalid } from "./errors.ts";
import type { TaskContainer } from "../db/rows.ts";
import { describeTask } from "./tasks.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { awslogsStream } from "../../shared/log-stream.ts";
import { parseInput } from "./validate.ts";

/** What a log request asks the task's agent for (link/log-requests.ts carries it). */
export interface LogStreamParams {
  taskId: string;
  container: string;
  tail?: number;
  since?: number;
  follow: boolean;
}

/** `since`: unix seconds or an ISO 8601 time. */
const sinceSchema = z.string().transform((s, ctx) => {
  const t = /^\d+(\.\d+)?$/.test(s) ? Number(s) : Date.parse(s) / 1000;
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: "custom", message: "must be unix seconds or an ISO 8601 time" });
    return z.NEVER;
  }
  return t;
});

const logsQuery = z.strictObject({
  container: z.string().min(1).optional(),
  /** An awslogs stream name as ECS gives it (`prefix/container/task-id`), instead of `container`. */
  stream: z.string().min(1).optional(),
  /** An awslogs group: the container named (or found by stream) must log to it. */
  group: z.string().min(1).optional(),
  tail: z.string().regex(/^\d+$/, "must be a whole number of lines").transform(Number).optional(),
  since: sinceSchema.optional(),
  follow: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1").optional(),
});

/** The one field a log request got wrong, as a 400 naming it. */
const badField = (path: string, message: string) => invalid(`${path}: ${message}`, [{ path, message }]);

/**
 * Where a log request goes and what it asks: the task's instance, which must be connected, and a
 * container of the task, named by `container`, or by the awslogs `stream` ECS would give it, or
 * the only one when the task has one. `group`, when given, must be the container's awslogs-group.
 */
export async function resolveLogTarget(
  ctx: OpsContext,
  cluster: string,
  taskIdOrArn: string,
  query: unknown,
): Promise<{ instanceId: string; params: LogStreamParams }> {
  const q = parseInput(logsQuery, query);
  const task = await describeTask(ctx, cluster, taskIdOrArn);
  const containers = task.containers as TaskContainer[];
  const needStreams = q.stream !== undefined || q.group !== undefined;
  const defs = needStreams ? ((await taskDefinitionRevision(ctx.db, task.taskDefinitionArn))?.spec.containerDefinitions ?? []) : [];
  const streamOf = (c: TaskContainer) => {
    const d = defs.find((x) => x.name === c.name);
    return d ? awslogsStream(d, task.id, c.runtimeId) : undefined;
  };
  let name = q.container;
  if (q.stream !== undefined) {
    const byStream = containers.find((c) => streamOf(c)?.stream === q.stream);
    if (!byStream) throw badField("stream", `no awslogs container of the task logs to stream "${q.stream}"`);
    if (name !== undefined && name !== byStream.name) throw badField("stream", `stream "${q.stream}" is container "${byStream.name}"'s, not "${name}"'s`);
    name = byStream.name;
  }
  name ??= containers.length === 1 ? containers[0]!.name : undefined;
  if (!name) throw badField("container", `required when the task has more than one container (one of: ${containers.map((c) => c.name).join(", ")})`);
  const container = containers.find((c) => c.name === name);
  if (!container) throw badField("container", `no container named "${name}" in the task`);
  if (q.group !== undefined && streamOf(container)?.group !== q.group) {
    throw badField("group", `container "${name}" does not log to awslogs group "${q.group}"`);
  }
  const inst = await ctx.db.select({ connected: containerInstances.agentConnected }).from(containerInstances).where(eq(containerInstances.id, task.instanceId)).get();
  if (!inst?.connected) throw conflict("AgentNotConnectedException", `the agent of container instance ${task.instanceId} is not connected; logs are read from the host`);
  return { instanceId: task.instanceId, params: { taskId: task.id, container: name, tail: q.tail, since: q.since, follow: q.follow ?? false } };
}
