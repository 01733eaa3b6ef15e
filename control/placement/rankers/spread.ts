import type { ClusterIndex } from "../cluster-index.ts";
import { bucketFunction } from "../spread-buckets.ts";
import type { Ranker } from "./ranker.ts";

/**
 * ECS spread: prefer the candidate whose bucket (instance, host, or attribute value) holds the
 * fewest tasks of the request's group. `instanceId` reads the overlay's per-instance count; other
 * fields read the index's tally plus the tasks this request has placed so far.
 */
export function spreadRanker(field: string, index: ClusterIndex, group: string): Ranker {
  const bucketOf = bucketFunction(field);
  if (!bucketOf) {
    return { name: "spread(instanceId)", score: (i) => i.groups.get(group) ?? 0 };
  }
  const tally = index.spreadTally(group, field);
  const placedHere = new Map<string, number>();
  return {
    name: `spread(${field})`,
    score(i) {
      const bucket = bucketOf(i);
      const committed = tally.get(bucket) ?? 0;
      return placedHere.size === 0 ? committed : committed + (placedHere.get(bucket) ?? 0);
    },
    placed(i) {
      const bucket = bucketOf(i);
      placedHere.set(bucket, (placedHere.get(bucket) ?? 0) + 1);
    },
  };
}
