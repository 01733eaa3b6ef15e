import type { Ranker } from "./ranker.ts";

/** A fresh draw per candidate; the rng is injected so tests and benchmarks can replay placements. */
export function randomRanker(rng: () => number): Ranker {
  return { name: "random", score: () => rng() };
}
