import type { DependencyCondition } from "../../shared/task-definition/index.ts";
import type { AgentContainer } from "../store/state-file.ts";

/**
 * ECS dependsOn conditions, judged on what the agent knows about the container depended on:
 * START = it has started; COMPLETE = it has exited; SUCCESS = it exited 0; HEALTHY = its health check
 * passes. "failed" means the condition can no longer be met.
 */
export type Verdict = { state: "met" } | { state: "waiting" } | { state: "failed"; why: string };

type Dep = Pick<AgentContainer, "name" | "knownStatus" | "exitCode" | "healthStatus">;

const started = (d: Dep) => d.knownStatus === "RUNNING" || d.knownStatus === "STOPPED";

export function dependencyVerdict(condition: DependencyCondition, dep: Dep): Verdict {
  const exited = dep.knownStatus === "STOPPED";
  switch (condition) {
    case "START":
      return started(dep) ? { state: "met" } : { state: "waiting" };
    case "COMPLETE":
      return exited ? { state: "met" } : { state: "waiting" };
    case "SUCCESS":
      if (!exited) return { state: "waiting" };
      return dep.exitCode === 0 ? { state: "met" } : { state: "failed", why: `exited with code ${dep.exitCode ?? "unknown"}` };
    case "HEALTHY":
      if (dep.healthStatus === "HEALTHY" && !exited) return { state: "met" };
      if (exited) return { state: "failed", why: `exited with code ${dep.exitCode ?? "unknown"} before it was healthy` };
      return { state: "waiting" };
  }
}

/** The stoppedReason of a task whose container could not start because a dependency failed. */
export function dependencyFailureReason(container: string, dep: string, condition: DependencyCondition, why: string): string {
  return `DependencyConditionFailed: container ${container} depends on ${dep} with condition ${condition}, but ${dep} ${why}`;
}
