import type { ClusterIndex } from "./cluster-index.ts";
import type { AttributeHint } from "./query/hints.ts";
import type { InstanceView } from "./types.ts";

/** Positional access to the instances a request may land on, for random-order sampling. */
export interface CandidateSource {
  readonly size: number;
  at(position: number): InstanceView;
}

/**
 * The smallest superset of the feasible instances the index can name cheaply: the schedulable set,
 * or, when the request pins an attribute to one or a few values (memberOf `==` / `in`,
 * requiresAttributes with a value, the cpu architecture), the union of those posting lists. The
 * full checker chain still runs on every candidate, so narrowing only saves work.
 */
export function candidateSource(index: ClusterIndex, hints: readonly AttributeHint[]): CandidateSource {
  let chosen: (readonly InstanceView[])[] | null = null;
  let chosenSize = index.schedulableCount;
  for (const hint of hints) {
    const lists = [...new Set(hint.values)].map((v) => index.schedulableWithAttribute(hint.name, v));
    const size = lists.reduce((n, l) => n + l.length, 0);
    if (size < chosenSize) {
      chosen = lists;
      chosenSize = size;
    }
  }
  if (!chosen) return single(index.schedulable());
  const nonEmpty = chosen.filter((l) => l.length > 0);
  if (nonEmpty.length <= 1) return single(nonEmpty[0] ?? []);
  return concatenated(nonEmpty, chosenSize);
}

function single(list: readonly InstanceView[]): CandidateSource {
  return { size: list.length, at: (p) => list[p]! };
}

function concatenated(lists: (readonly InstanceView[])[], size: number): CandidateSource {
  return {
    size,
    at(p) {
      for (const l of lists) {
        if (p < l.length) return l[p]!;
        p -= l.length;
      }
      throw new RangeError(`candidate position out of range`);
    },
  };
}
