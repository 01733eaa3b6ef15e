import type { TaskStatus } from "../../shared/status.ts";
import type { AgentTask } from "../store/state-file.ts";

/**
 * A task's known status follows from its containers (as in amazon-ecs-agent): RUNNING once every
 * essential container runs, STOPPED once all have stopped, STOPPING while a stop is under way.
 */
export function deriveTaskStatus(task: AgentTask): TaskStatus {
  const cs = task.containers;
  if (cs.every((c) => c.knownStatus === "STOPPED")) return "STOPPED";
  if (task.desiredStatus === "STOPPED") return task.knownStatus === "RUNNING" || task.knownStatus === "STOPPING" ? "STOPPING" : task.knownStatus;
  const essentials = cs.filter((c) => c.essential);
  if (essentials.every((c) => c.knownStatus === "RUNNING")) return "RUNNING";
  return cs.some((c) => c.knownStatus !== "PENDING") || task.knownStatus !== "PROVISIONING" ? "PENDING" : task.knownStatus;
}
