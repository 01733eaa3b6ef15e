/**
 * Sampling, after Nomad: instead of ranking every instance for every task, visit candidates in a
 * random order and rank only the first `limit` feasible ones.
 *
 * Trade-off: with log2(n) samples the pick is the best of a random handful, not the global best.
 *  - spread: the per-bucket tallies are exact (they come from the index, not from the sample), so
 *    spread over a few zones is exact as soon as the sample touches every zone (14 samples over 3
 *    zones miss one with probability ~3·(2/3)^14 ≈ 1%); spread over instances picks an instance with
 *    the minimum count whenever one is in the sample, which holds unless the group already covers
 *    almost every instance.
 *  - binpack: picks the fullest of the sample rather than the fullest host. Instances already used
 *    by the same request are always re-ranked, so one RunTask still packs onto one host.
 *  - random: the first feasible instance of a uniformly random order is a uniform pick, so one
 *    sample is exact.
 * Small clusters (≤ EXHAUSTIVE_UP_TO candidates) are ranked exhaustively: it costs little and
 * makes placement exact where people can see it (a home lab, the tests).
 */
export const EXHAUSTIVE_UP_TO = 64;

export function defaultSampleLimit(candidates: number, randomFirst: boolean): number {
  if (randomFirst) return 1;
  if (candidates <= EXHAUSTIVE_UP_TO) return Math.max(1, candidates);
  return Math.max(2, Math.ceil(Math.log2(candidates)));
}

/**
 * A uniformly random permutation of 0..n-1 produced one element at a time (Fisher–Yates with the
 * swaps kept in a sparse map), so drawing k elements costs O(k), not O(n), and no position repeats.
 */
export class RandomOrder {
  private readonly swapped = new Map<number, number>();
  private taken = 0;

  constructor(
    private readonly n: number,
    private readonly rng: () => number,
  ) {}

  get remaining(): number {
    return this.n - this.taken;
  }

  /** Call only while remaining > 0. */
  next(): number {
    const i = this.taken++;
    const j = Math.min(this.n - 1, i + Math.floor(this.rng() * (this.n - i)));
    const atJ = this.swapped.get(j) ?? j;
    if (j !== i) this.swapped.set(j, this.swapped.get(i) ?? i);
    return atJ;
  }
}
