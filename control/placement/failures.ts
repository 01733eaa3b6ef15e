import {
  REASON_AGENT,
  REASON_ATTRIBUTE,
  REASON_CPU,
  REASON_DISTINCT_INSTANCE,
  REASON_GPU,
  REASON_MEMBER_OF,
  REASON_MEMORY,
  REASON_MISSING,
  REASON_PORTS,
} from "./reasons.ts";
import type { FailureReason, PlacementFailure } from "./types.ts";

/**
 * Stages of the checker chain, in order. The reported reason comes from the last stage any instance
 * reached: those instances came closest to taking the task, so their refusal is the actionable one
 * ("add memory", not "one of your hosts is draining"). Within that stage the reason that refused the
 * most instances wins; a tie goes to the reason earlier in the chain.
 */
const STAGES: readonly (readonly FailureReason[])[] = [
  [REASON_AGENT],
  [REASON_ATTRIBUTE],
  [REASON_MEMBER_OF, REASON_DISTINCT_INSTANCE],
  [REASON_CPU, REASON_MEMORY, REASON_PORTS, REASON_GPU],
];

export function reportedReason(counts: ReadonlyMap<FailureReason, number>): FailureReason {
  for (let s = STAGES.length - 1; s >= 0; s--) {
    let best: FailureReason | null = null;
    let bestCount = 0;
    for (const reason of STAGES[s]!) {
      const n = counts.get(reason) ?? 0;
      if (n > bestCount) {
        best = reason;
        bestCount = n;
      }
    }
    if (best) return best;
  }
  return REASON_MISSING;
}

export function describeFailure(counts: ReadonlyMap<FailureReason, number>, instanceCount: number, notes: readonly string[] = []): PlacementFailure {
  if (instanceCount === 0) {
    return { reason: REASON_MISSING, detail: "the cluster has no container instances", rejected: {} };
  }
  const rejected: Record<string, number> = {};
  const parts: string[] = [];
  for (const [reason, n] of [...counts].sort((a, b) => b[1] - a[1])) {
    rejected[reason] = n;
    parts.push(`${n} by ${reason}`);
  }
  const detail = [`no container instance can take the task: of ${instanceCount} instances, ${parts.join(", ")} refused it`, ...notes].join("; ");
  return { reason: reportedReason(counts), detail, rejected };
}
