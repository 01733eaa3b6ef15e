import { HOSTNAME_ATTRIBUTE } from "../attribute-names.ts";
import type { ClusterIndex } from "../cluster-index.ts";
import { attributeOf } from "../instance-view.ts";
import type { InstanceView } from "../types.ts";
import type { Ranker } from "./ranker.ts";

/** Instances without the spread attribute share one bucket, so they are balanced against the rest rather than ignored. */
const MISSING_BUCKET = "\u0000missing";

/**
 * ECS spread: prefer the candidate whose bucket (instance, host, or attribute value) holds the
 * fewest tasks of the request's group. `instanceId` reads the overlay's per-instance count directly;
 * other fields tally the group's hosts once per request and are updated as tasks are placed.
 */
export function spreadRanker(field: string, index: ClusterIndex, group: string): Ranker {
  const keyOf = spreadKey(field);
  if (!keyOf) {
    return { name: "spread(instanceId)", score: (i) => i.groups.get(group) ?? 0 };
  }
  const counts = new Map<string, number>();
  for (const [id, n] of index.groupHosts(group)) {
    const host = index.get(id);
    if (!host) continue;
    const key = keyOf(host);
    counts.set(key, (counts.get(key) ?? 0) + n);
  }
  return {
    name: `spread(${field})`,
    score: (i) => counts.get(keyOf(i)) ?? 0,
    placed: (i) => {
      const key = keyOf(i);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  };
}

/** null means per-instance; otherwise the function naming the instance's bucket. */
function spreadKey(field: string): ((i: InstanceView) => string) | null {
  if (field.toLowerCase() === "instanceid") return null;
  if (field.toLowerCase() === "host") return (i) => attributeOf(i, HOSTNAME_ATTRIBUTE) ?? i.id;
  if (field.startsWith("attribute:")) {
    const name = field.slice("attribute:".length);
    return (i) => attributeOf(i, name) ?? MISSING_BUCKET;
  }
  // The request schema rejects other fields; one that slips through spreads over nothing.
  return () => MISSING_BUCKET;
}
