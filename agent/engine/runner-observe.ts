import type { RuntimeContainer } from "../runtime/types.ts";
import type { AgentContainer } from "../store/state-file.ts";
import { ecsHealthStatus } from "./container-health.ts";
import { restartDecision } from "./restart-policy.ts";
import { STOP_CODES, definitionOf, event, hasHealthCheck, requestStop, update, type TaskWork } from "./task-work.ts";

/** The reason ECS gives a container the kernel's OOM killer ended. */
export const OOM_REASON = "OutOfMemoryError: Container killed due to memory usage";

/** Inside the runner: confirm what the relist hinted with a fresh inspect of every running container. */
export async function observeStep(w: TaskWork): Promise<void> {
  for (const c of w.task.containers) await refreshContainer(w, c);
}

/** Brings one running container's known state up to date with the runtime; true when it changed. */
export async function refreshContainer(w: TaskWork, c: AgentContainer): Promise<boolean> {
  if (!c.runtimeId || c.knownStatus !== "RUNNING") return false;
  const rc = await w.ctx.runtime.inspect(c.runtimeId);
  if (rc && rc.state !== "exited" && rc.state !== "dead") {
    const health = hasHealthCheck(definitionOf(w, c.name)) ? ecsHealthStatus(rc.health) : undefined;
    if (health === c.healthStatus) return false;
    c.healthStatus = health;
    update(w);
    return true;
  }
  await containerExited(w, c, rc);
  update(w);
  return true;
}

/**
 * A container has exited (or vanished): restart it in place when its restartPolicy says so (this
 * is local, so it works while the control service is unreachable), else record the exit and apply
 * the essential rule.
 */
async function containerExited(w: TaskWork, c: AgentContainer, rc: RuntimeContainer | null): Promise<void> {
  const { task, ctx } = w;
  const def = definitionOf(w, c.name);
  const now = ctx.now();
  const decision = restartDecision(
    def?.restartPolicy,
    { exitCode: rc?.exitCode, startedAt: c.startedAt, lastRestartAt: c.lastRestartAt, desiredRunning: task.desiredStatus === "RUNNING" },
    now,
  );
  if (rc && decision.restart) {
    try {
      await ctx.runtime.start(c.runtimeId!);
      c.restartCount = (c.restartCount ?? 0) + 1;
      c.lastRestartAt = now;
      ctx.restarted?.();
      if (hasHealthCheck(def)) c.healthStatus = "UNKNOWN";
      ctx.log.info({ taskId: task.taskId, container: c.name }, `task ${task.taskId}: restarted container ${c.name} after exit code ${rc.exitCode} (restart ${c.restartCount})`);
      return;
    } catch (e) {
      ctx.log.warn({ taskId: task.taskId, container: c.name }, `task ${task.taskId}: restarting container ${c.name} failed: ${(e as Error).message}`);
    }
  } else if (def?.restartPolicy?.enabled && rc) {
    ctx.log.info({ taskId: task.taskId, container: c.name }, `task ${task.taskId}: container ${c.name} not restarted: ${(decision as { why: string }).why}`);
  }
  c.knownStatus = "STOPPED";
  c.exitCode ??= rc?.exitCode;
  c.finishedAt = rc?.finishedAt ?? now;
  if (!rc) c.reason ??= "container was removed outside Flotilla";
  if (killedByOom(rc)) c.reason ??= OOM_REASON;
  event(w, stoppedMessage(c));
  if (c.essential) requestStop(task, "Essential container in task exited", STOP_CODES.essentialExited);
}

/**
 * Docker's OOMKilled also turns true for a container that merely shared the task cgroup with one the
 * kernel killed (v1 sends OOM events down the hierarchy), so only a SIGKILL exit counts.
 */
export function killedByOom(rc: RuntimeContainer | null | undefined): boolean {
  return !!rc?.oomKilled && rc.exitCode === 137;
}

export function stoppedMessage(c: AgentContainer): string {
  return `${c.name}: container stopped${c.exitCode !== undefined ? ` (exit code ${c.exitCode})` : ""}${c.reason ? `: ${c.reason}` : ""}`;
}
