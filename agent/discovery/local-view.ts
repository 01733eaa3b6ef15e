import type { ReadonlyAgentTask } from "../store/state-file.ts";

/**
 * Whether a task on this host may receive traffic, by what this agent sees itself: desired and
 * known RUNNING and, when its containers have health checks, every checked essential container
 * HEALTHY (the control's rule). The agent applies it to its own tasks' records, so a task that
 * stops here leaves this host's answers at once, even while the control is out of reach.
 */
export function localTaskServes(task: ReadonlyAgentTask | undefined): boolean {
  if (!task || task.desiredStatus !== "RUNNING" || task.knownStatus !== "RUNNING") return false;
  const checked = task.containers.filter((c) => c.essential && c.healthStatus !== undefined);
  return checked.every((c) => c.healthStatus === "HEALTHY");
}
