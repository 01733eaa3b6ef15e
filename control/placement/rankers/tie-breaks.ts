import type { Ranker } from "./ranker.ts";

/**
 * Tie-breaks after the requested strategies (and the whole ranking when none is given):
 *   1. fewest running tasks (of any group): keeps unrelated services apart;
 *   2. most remaining memory: the scarcest resource on small hosts such as Raspberry Pis;
 *   3. instance id, ascending (in the engine's comparison): makes the choice deterministic.
 *
 * With no strategies the engine ranks by spread(instanceId) over the request's group first, so the
 * tasks of one family or service spread across instances, as ECS does by default.
 */
export const fewestRunningTasks: Ranker = { name: "fewestRunningTasks", score: (i) => i.runningTasksCount };

export const mostRemainingMemory: Ranker = { name: "mostRemainingMemory", score: (i) => -i.remaining.memory };
