import { firstRejection } from "./checkers/chain.ts";
import { candidateSource } from "./candidate-source.ts";
import { ClusterIndex } from "./cluster-index.ts";
import { describeFailure } from "./failures.ts";
import { prepareRequest, type PreparedRequest } from "./prepared-request.ts";
import { rankersFor } from "./rankers/from-strategies.ts";
import type { Ranker } from "./rankers/ranker.ts";
import { RandomOrder, defaultSampleLimit } from "./sampling.ts";
import { ScratchOverlay } from "./scratch-overlay.ts";
import type { FailureReason, InstanceView, PlaceOptions, PlacementFailure, PlacementRequest, PlacementResult } from "./types.ts";

/**
 * Decides where each of `request.count` tasks goes. Pure: reads the index (or a plain list of
 * instances) and returns placements; the caller commits them and then calls `index.reserve`.
 *
 * Per task: re-rank instances this request already used, then draw candidates in random order,
 * run the checker chain on each and rank the first `sampleLimit` feasible ones. Only when no
 * feasible candidate turns up does the engine scan every instance, both to be certain and to count
 * each refusal for the failure report. A failed task ends the request's search: later tasks of the
 * same request only see less room, so they get the same failure.
 */
export function placeTasks(source: ClusterIndex | readonly InstanceView[], request: PlacementRequest, opts: PlaceOptions = {}): PlacementResult {
  const index = source instanceof ClusterIndex ? source : ClusterIndex.from(source);
  const rng = opts.rng ?? Math.random;
  const prepared = prepareRequest(request);
  const scratch = new ScratchOverlay();
  const rankers = rankersFor(request.strategies, index, request.group, rng);
  const candidates = candidateSource(index, prepared.hints);
  // With random first, re-ranking used instances would bias the pick towards them.
  const randomFirst = request.strategies[0]?.type === "random";
  const limit = Math.max(1, Math.floor(opts.sampleLimit ?? defaultSampleLimit(candidates.size, randomFirst)));

  const placements: { instanceId: string }[] = [];
  const failures: PlacementFailure[] = [];
  let rejections = new Map<string, FailureReason>();
  let failure: PlacementFailure | null = null;
  const count = Math.max(0, Math.floor(request.count));

  for (let k = 0; k < count; k++) {
    if (failure) {
      failures.push({ ...failure, rejected: { ...failure.rejected } });
      continue;
    }
    rejections = new Map();
    const picker = new Picker(rankers);
    const consider = (view: InstanceView): boolean => {
      const reason = firstRejection(view, prepared);
      if (reason !== null) {
        rejections.set(view.id, reason);
        return false;
      }
      picker.offer(view);
      return true;
    };

    if (!randomFirst) for (const used of scratch.touched()) consider(used);
    const order = new RandomOrder(candidates.size, rng);
    let found = 0;
    while (found < limit && order.remaining > 0) {
      const candidate = candidates.at(order.next());
      if (!randomFirst && scratch.has(candidate.id)) continue;
      if (consider(scratch.view(candidate))) found++;
    }

    if (!picker.best) {
      const scan = scanEverything(index, scratch, prepared, picker);
      rejections = scan.rejections;
      if (!picker.best) {
        failure = describeFailure(scan.counts, index.size, prepared.memberOfErrors);
        failures.push(failure);
        continue;
      }
    }

    const placed = scratch.place(picker.best, request.reservation, request.group);
    for (const r of rankers) r.placed?.(placed);
    placements.push({ instanceId: placed.id });
  }
  return { placements, failures, rejections };
}

/**
 * Every instance, including those the index keeps out of the schedulable set, so the failure
 * report counts each refusal. Offers any feasible instance to the picker: narrowing is a superset
 * by construction, but a miss here would cost a placement, not just time.
 */
function scanEverything(index: ClusterIndex, scratch: ScratchOverlay, prepared: PreparedRequest, picker: Picker) {
  const rejections = new Map<string, FailureReason>();
  const counts = new Map<FailureReason, number>();
  for (const instance of index.instances()) {
    const view = scratch.view(instance);
    const reason = firstRejection(view, prepared);
    if (reason === null) {
      picker.offer(view);
      continue;
    }
    rejections.set(view.id, reason);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return { rejections, counts };
}

/** Keeps the best candidate so far; scores compare lexicographically, lower first, then by id. */
class Picker {
  best: InstanceView | null = null;
  private bestScores: Float64Array;
  private candidateScores: Float64Array;

  constructor(private readonly rankers: readonly Ranker[]) {
    this.bestScores = new Float64Array(rankers.length);
    this.candidateScores = new Float64Array(rankers.length);
  }

  offer(view: InstanceView): void {
    const scores = this.candidateScores;
    for (let r = 0; r < this.rankers.length; r++) scores[r] = this.rankers[r]!.score(view);
    if (this.best !== null && !this.beats(scores, view.id, this.best.id)) return;
    this.candidateScores = this.bestScores;
    this.bestScores = scores;
    this.best = view;
  }

  private beats(scores: Float64Array, id: string, bestId: string): boolean {
    const best = this.bestScores;
    for (let r = 0; r < scores.length; r++) {
      if (scores[r] !== best[r]) return scores[r]! < best[r]!;
    }
    return id < bestId;
  }
}
