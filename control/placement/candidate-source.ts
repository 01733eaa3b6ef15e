import { isSchedulable, type ClusterIndex } from "./cluster-index.ts";
import { attributeOf } from "./instance-view.ts";
import type { AttributeHint } from "./query/hints.ts";
import type { InstanceView } from "./types.ts";

/** Positional access to the instances a request may land on, for random-order sampling. */
export interface CandidateSource {
  readonly size: number;
  at(position: number): InstanceView;
  /** Whether the instance is one of the candidates, without searching for it. */
  contains(instance: InstanceView): boolean;
}

/**
 * The smallest superset of the feasible instances the index can name cheaply: the schedulable set,
 * or, when the request pins an attribute to one or a few values (memberOf `==` / `in`,
 * requiresAttributes with a value, the cpu architecture), the union of those posting lists. The
 * full checker chain still runs on every candidate, so narrowing only saves work.
 */
export function candidateSource(index: ClusterIndex, hints: readonly AttributeHint[]): CandidateSource {
  let chosen: { hint: AttributeHint; lists: (readonly InstanceView[])[] } | null = null;
  let chosenSize = index.schedulableCount;
  for (const hint of hints) {
    const values = [...new Set(hint.values)];
    const lists = values.map((v) => index.schedulableWithAttribute(hint.name, v));
    const size = lists.reduce((n, l) => n + l.length, 0);
    if (size < chosenSize) {
      chosen = { hint: { name: hint.name, values }, lists };
      chosenSize = size;
    }
  }
  if (!chosen) return positional([index.schedulable()], index.schedulableCount, isSchedulable);
  const { name, values } = chosen.hint;
  const wanted = new Set(values);
  return positional(
    chosen.lists.filter((l) => l.length > 0),
    chosenSize,
    (i) => {
      if (!isSchedulable(i)) return false;
      const value = attributeOf(i, name);
      return value !== undefined && wanted.has(value);
    },
  );
}

function positional(lists: (readonly InstanceView[])[], size: number, contains: (i: InstanceView) => boolean): CandidateSource {
  if (lists.length <= 1) {
    const list = lists[0] ?? [];
    return { size, at: (p) => list[p]!, contains };
  }
  return {
    size,
    at(p) {
      for (const l of lists) {
        if (p < l.length) return l[p]!;
        p -= l.length;
      }
      throw new RangeError("candidate position out of range");
    },
    contains,
  };
}
