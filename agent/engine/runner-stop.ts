import { stopTimeoutOf } from "../../shared/task-definition/index.ts";
import { namespaceOwner } from "./runner-start.ts";
import { OOM_REASON, killedByOom, stoppedMessage } from "./runner-observe.ts";
import { stopWaves } from "./stop-order.ts";
import { needsNamespaceHolder } from "./task-network.ts";
import { event, update, type TaskWork } from "./task-work.ts";
import { removeFirelensFiles } from "./task-firelens.ts";
import { taskVolumes } from "./task-volumes.ts";

/**
 * Stops the task's containers: dependents before what they depend on (ECS's reverse order),
 * unrelated containers of one wave together, then the namespace holder.
 */
export async function stopStep(w: TaskWork): Promise<void> {
  const { task, def: td, ctx } = w;
  const { runtime } = ctx;
  task.stoppingAt ??= ctx.now();
  update(w);
  const waves = td ? stopWaves(td.containerDefinitions) : [task.containers.map((c) => c.name)];
  for (const wave of waves) {
    await Promise.all(
      task.containers
        .filter((c) => wave.includes(c.name))
        .map(async (c) => {
          if (c.knownStatus === "STOPPED") return;
          if (c.runtimeId) {
            const def = td?.containerDefinitions.find((d) => d.name === c.name);
            await runtime.stop(c.runtimeId, stopTimeoutOf(def ?? {}));
            const seen = await runtime.inspect(c.runtimeId);
            c.exitCode ??= seen?.exitCode;
            c.finishedAt = seen?.finishedAt ?? ctx.now();
            if (killedByOom(seen)) c.reason ??= OOM_REASON;
          }
          c.knownStatus = "STOPPED";
          if (c.runtimeId) event(w, stoppedMessage(c));
        }),
    );
  }
  if (td && needsNamespaceHolder(td)) {
    const owner = await namespaceOwner(w);
    if (owner) await runtime.stop(owner.id, 5);
  }
  update(w);
}

/** Whether the stopped task still has containers to remove once the cleanup wait has passed. */
export function hasLeftovers(w: TaskWork): boolean {
  return w.task.containers.some((c) => c.runtimeId && !c.removed);
}

/** Removes a stopped task's containers, holder, task-scoped volumes and (last) its cgroup. */
export async function cleanupStep(w: TaskWork): Promise<void> {
  const { task, ctx } = w;
  for (const c of task.containers) {
    if (!c.runtimeId || c.removed) continue;
    await ctx.runtime.remove(c.runtimeId);
    c.removed = true;
    ctx.changed(true);
  }
  // Only a task that has a holder (or whose definition is unknown) is worth a list call: after a
  // scale-in of 40 tasks the lists were a burst of 40 Docker calls for nothing.
  if (!w.def || needsNamespaceHolder(w.def)) {
    const owner = await namespaceOwner(w);
    if (owner) await ctx.runtime.remove(owner.id);
  }
  if (w.def) {
    for (const v of taskVolumes(task.taskId, w.def)) if (v.taskScoped) await ctx.runtime.removeVolume?.(v.spec.name);
  }
  removeFirelensFiles(w);
  // Last: the cgroup can only go once no container of the task is left in it.
  await removeTaskCgroup(w);
}

export function removeTaskCgroup(w: TaskWork): Promise<void> {
  const { runtime, log } = w.ctx;
  return (runtime.removeTaskCgroup?.(w.task.taskId) ?? Promise.resolve()).catch((e: Error) => log.warn({ taskId: w.task.taskId }, `task ${w.task.taskId}: ${e.message}`));
}
