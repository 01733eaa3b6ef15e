import type { Ranker } from "./ranker.ts";

/** ECS binpack: the candidate with the least of the resource left goes first, filling hosts before opening new ones. */
export function binpackRanker(field: string): Ranker {
  if (field.toLowerCase() === "cpu") return { name: "binpack(cpu)", score: (i) => i.remaining.cpu };
  if (field.toLowerCase() === "memory") return { name: "binpack(memory)", score: (i) => i.remaining.memory };
  // The request schema rejects other fields; one that slips through ranks nothing.
  return { name: `binpack(${field})`, score: () => 0 };
}
