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
 * Scratch space for RandomOrder, shared by all orders: `value[j]` holds what position j was swapped
 * to, valid only where `stamp[j]` equals the current generation. Starting a new order is one
 * increment, with no clearing and no per-task allocation; a Map here cost a fifth of the run time.
 */
let value = new Int32Array(0);
let stamp = new Uint32Array(0);
let generation = 0;

function beginGeneration(n: number): number {
  if (value.length < n) {
    const capacity = Math.max(n, value.length * 2, 1024);
    value = new Int32Array(capacity);
    stamp = new Uint32Array(capacity);
    generation = 0;
  }
  if (generation === 0xffffffff) {
    stamp.fill(0);
    generation = 0;
  }
  return ++generation;
}

/**
 * A uniformly random permutation of 0..n-1 produced one element at a time (Fisher–Yates with the
 * swaps recorded sparsely), so drawing k elements costs O(k), not O(n), and no position repeats.
 * Only the most recently created order may be advanced; the engine uses one per task, in turn.
 */
export class RandomOrder {
  private readonly generation: number;
  private taken = 0;

  constructor(
    private readonly n: number,
    private readonly rng: () => number,
  ) {
    this.generation = beginGeneration(n);
  }

  get remaining(): number {
    return this.n - this.taken;
  }

  /** Call only while remaining > 0. */
  next(): number {
    const g = this.generation;
    if (g !== generation) throw new Error("RandomOrder used after a newer one was created");
    const i = this.taken++;
    const j = Math.min(this.n - 1, i + Math.floor(this.rng() * (this.n - i)));
    const atJ = stamp[j] === g ? value[j]! : j;
    if (j !== i) {
      value[j] = stamp[i] === g ? value[i]! : i;
      stamp[j] = g;
    }
    return atJ;
  }
}
