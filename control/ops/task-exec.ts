import { eq } from "drizzle-orm";
import { z } from "zod";
import { arn } from "../../shared/arn.ts";
import { containerInstances } from "../db/schema.ts";
import type { TaskContainer } from "../db/rows.ts";
import type { OpsContext } from "./context.ts";
import { conflict, invalid, OpError } from "./errors.ts";
import { getClusterPolicy } from "./policy.ts";
import { describeTask } from "./tasks.ts";
import { parseInput } from "./validate.ts";

/** What an exec session asks the task's agent to run (link/exec-sessions.ts carries it). */
export interface ExecParams {
  taskId: string;
  container: string;
  command: string[];
  interactive: boolean;
  tty: boolean;
  timeoutSeconds: number;
}

export const DEFAULT_EXEC_TIMEOUT_SECONDS = 3600;

/**
 * ExecuteCommand's body. ECS's fields (`container`, `command` as one string, `interactive`) plus
 * what a session over a pty needs; a string command is split on whitespace as ECS does (no shell:
 * `sh -c '…'` is written as an array).
 */
const execInput = z.strictObject({
  container: z.string().min(1).max(255).optional(),
  command: z.union([
    z.string().trim().min(1).max(64 * 1024).transform((s) => s.split(/\s+/)),
    z.array(z.string().max(64 * 1024)).min(1).max(1000),
  ]),
  interactive: z.boolean().default(false),
  tty: z.boolean().default(false),
  timeoutSeconds: z.number().int().min(1).max(24 * 3600).default(DEFAULT_EXEC_TIMEOUT_SECONDS),
});

/**
 * Where an exec session goes and what it runs: a running container of the task (named, or the
 * task's only one) on a connected instance, in a cluster whose policy allows exec. The agent checks
 * again that the container is one of a task it runs.
 */
export async function resolveExecTarget(
  ctx: OpsContext,
  cluster: string,
  taskIdOrArn: string,
  body: unknown,
): Promise<{ instanceId: string; clusterArn: string; taskArn: string; params: ExecParams }> {
  const q = parseInput(execInput, body);
  const task = await describeTask(ctx, cluster, taskIdOrArn);
  if (!(await getClusterPolicy(ctx, task.clusterName)).allowExec) {
    throw new OpError("forbidden", "AccessDeniedException", `exec is not allowed by the policy of cluster "${task.clusterName}" (allowExec)`);
  }
  const containers = task.containers as TaskContainer[];
  const name = q.container ?? (containers.length === 1 ? containers[0]!.name : undefined);
  if (!name) throw invalid("container: required when the task has more than one container", [{ path: "container", message: "required when the task has more than one container" }]);
  const container = containers.find((c) => c.name === name);
  if (!container) throw invalid(`container: no container named "${name}" in the task`, [{ path: "container", message: `no container named "${name}" in the task` }]);
  if (task.lastStatus !== "RUNNING" || container.lastStatus !== "RUNNING") {
    throw conflict("InvalidParameterException", `container "${name}" of task ${task.id} is not running`);
  }
  const inst = await ctx.db.select({ connected: containerInstances.agentConnected }).from(containerInstances).where(eq(containerInstances.id, task.instanceId)).get();
  if (!inst?.connected) throw conflict("TargetNotConnectedException", `the agent of container instance ${task.instanceId} is not connected`);
  return {
    instanceId: task.instanceId,
    clusterArn: arn.cluster(task.clusterName),
    taskArn: task.arn,
    params: { taskId: task.id, container: name, command: q.command, interactive: q.interactive, tty: q.tty, timeoutSeconds: q.timeoutSeconds },
  };
}
