import type { ClusterIndex } from "../cluster-index.ts";
import type { PlacementStrategy } from "../types.ts";
import { binpackRanker } from "./binpack.ts";
import { randomRanker } from "./random.ts";
import type { Ranker } from "./ranker.ts";
import { spreadRanker } from "./spread.ts";
import { fewestRunningTasks, mostRemainingMemory } from "./tie-breaks.ts";

/**
 * Strategies become rankers compared lexicographically, in the order given, as ECS applies them
 * ("spread over zones, then binpack memory within a zone"). See tie-breaks.ts for what follows them
 * and for the default.
 */
export function rankersFor(strategies: readonly PlacementStrategy[], index: ClusterIndex, group: string, rng: () => number): Ranker[] {
  const rankers: Ranker[] = strategies.length === 0 ? [spreadRanker("instanceId", index, group)] : strategies.map((s) => rankerFor(s, index, group, rng));
  rankers.push(fewestRunningTasks, mostRemainingMemory);
  return rankers;
}

function rankerFor(s: PlacementStrategy, index: ClusterIndex, group: string, rng: () => number): Ranker {
  switch (s.type) {
    case "spread":
      return spreadRanker(s.field ?? "instanceId", index, group);
    case "binpack":
      return binpackRanker(s.field ?? "memory");
    case "random":
      return randomRanker(rng);
  }
}
