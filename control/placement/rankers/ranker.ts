import type { InstanceView } from "../types.ts";

/**
 * Scores feasible candidates; lower is better. Rankers are built per request and see instances
 * through the engine's scratch overlay, so a score reflects tasks placed earlier in the request.
 */
export interface Ranker {
  readonly name: string;
  score(instance: InstanceView): number;
  /** Told about each placement of this request, for rankers that keep their own tallies. */
  placed?(instance: InstanceView): void;
}
