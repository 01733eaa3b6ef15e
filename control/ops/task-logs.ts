import { eq } from "drizzle-orm";
import { z } from "zod";
import { containerInstances } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { conflict, invalid } from "./errors.ts";
import type { TaskContainer } from "../db/rows.ts";
import { describeTask } from "./tasks.ts";
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
  tail: z.string().regex(/^\d+$/, "must be a whole number of lines").transform(Number).optional(),
  since: sinceSchema.optional(),
  follow: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1").optional(),
});

/**
 * Where a log request goes and what it asks: the task's instance, which must be connected, and a
 * container of the task (the only one when the task has one and none is named).
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
  const name = q.container ?? (containers.length === 1 ? containers[0]!.name : undefined);
  if (!name) {
    const names = containers.map((c) => c.name).join(", ");
    throw invalid(`container: required when the task has more than one container (one of: ${names})`, [{ path: "container", message: `required when the task has more than one container (one of: ${names})` }]);
  }
  if (!containers.some((c) => c.name === name)) {
    throw invalid(`container: task has no container named "${name}"`, [{ path: "container", message: `no container named "${name}" in the task` }]);
  }
  const inst = await ctx.db.select({ connected: containerInstances.agentConnected }).from(containerInstances).where(eq(containerInstances.id, task.instanceId)).get();
  if (!inst?.connected) throw conflict("AgentNotConnectedException", `the agent of container instance ${task.instanceId} is not connected; logs are read from the host`);
  return { instanceId: task.instanceId, params: { taskId: task.id, container: name, tail: q.tail, since: q.since, follow: q.follow ?? false } };
}
