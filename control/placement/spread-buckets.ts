import { HOSTNAME_ATTRIBUTE } from "./attribute-names.ts";
import { attributeOf } from "./instance-view.ts";
import type { InstanceView } from "./types.ts";

/** Instances without the spread attribute share one bucket, so they are balanced against the rest rather than ignored. */
export const MISSING_BUCKET = "\u0000missing";

export type BucketOf = (instance: InstanceView) => string;

/**
 * The bucket an instance falls in for a spread field: its hostname (or id) for `host`, the
 * attribute's value for `attribute:NAME`. Returns null for `instanceId`, where the instance's own
 * group count is the tally. Shared by the index (which keeps tallies) and the spread ranker.
 */
export function bucketFunction(field: string): BucketOf | null {
  const lower = field.toLowerCase();
  if (lower === "instanceid") return null;
  if (lower === "host") return (i) => attributeOf(i, HOSTNAME_ATTRIBUTE) ?? i.id;
  if (lower.startsWith("attribute:")) {
    const name = field.slice("attribute:".length);
    return (i) => attributeOf(i, name) ?? MISSING_BUCKET;
  }
  // The request schema rejects other fields; one that slips through spreads over nothing.
  return () => MISSING_BUCKET;
}
