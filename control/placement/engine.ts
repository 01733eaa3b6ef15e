import { candidateSource, type CandidateSource } from "./candidate-source.ts";
import { firstRejection } from "./checkers/chain.ts";
import { ClusterIndex } from "./cluster-index.ts";
import { describeFailure } from "./failures.ts";
import { attributeOf, pickGpus } from "./instance-view.ts";
import { AGENT_VERSION_SKEW_ATTRIBUTE } from "./attribute-names.ts";
import { prepareRequest, type PreparedRequest } from "./prepared-request.ts";
import { rankersFor } from "./rankers/from-strategies.ts";
import type { Ranker } from "./rankers/ranker.ts";
import { RandomOrder, defaultSampleLimit } from "./sampling.ts";
import { ScratchOverlay } from "./scratch-overlay.ts";
import type { FailureReason, InstanceView, PlaceOptions, Placement, PlacementFailure, PlacementRequest, PlacementResult } from "./types.ts";

/**
 * Decides where each of `request.count` tasks goes. Pure: reads the index (or a plain list of
 * instances) and returns placements; the caller commits them and then calls `index.reserve`.
 *
 * Per task: re-rank instances this request already used, then draw candidates in random order,
 * run the checker chain on each and rank the first `sampleLimit` feasible ones (see sampling.ts).
 * Only when no candidate is feasible does the engine look at the instances outside the candidate
 * set, both to be certain and to count each refusal for the failure report. A failed task ends the
 * request's search: later tasks of the same request only see less room, so they get the same
 * failure.
 */
export function placeTasks(source: ClusterIndex | readonly InstanceView[], request: PlacementRequest, opts: PlaceOptions = {}): PlacementResult {
  const whole = source instanceof ClusterIndex ? source : ClusterIndex.from(source);
  const index = request.onInstance === undefined ? whole : onlyInstance(whole, request.onInstance);
  const rng = opts.rng ?? Math.random;
  const prepared = prepareRequest(request);
  const scratch = new ScratchOverlay();
  const rankers = rankersFor(request.strategies, index, request.group, rng);
  const candidates = candidateSource(index, prepared.hints);
  // No strategy means spread over instances.
  const leading = request.strategies[0]?.type ?? "spread";
  // With random first, re-ranking used instances would bias the pick towards them.
  const reRankUsed = leading !== "random";
  const limit = Math.max(1, Math.floor(opts.sampleLimit ?? defaultSampleLimit(candidates.size, leading)));
  const search = new TaskSearch(prepared, rankers);

  const placements: Placement[] = [];
  const failures: PlacementFailure[] = [];
  let failure: PlacementFailure | null = null;
  const count = Math.max(0, Math.floor(request.count));

  for (let k = 0; k < count; k++) {
    if (failure) {
      failures.push({ ...failure, rejected: { ...failure.rejected } });
      continue;
    }
    search.reset();
    if (reRankUsed) for (const used of scratch.touched()) search.consider(used);
    const order = new RandomOrder(candidates.size, rng);
    let found = 0;
    while (found < limit && order.remaining > 0) {
      const candidate = candidates.at(order.next());
      // Used instances were ranked above (through their scratch copies), so any other candidate
      // has no copy: its own view is the one to check, without a second lookup.
      if (reRankUsed) {
        if (scratch.has(candidate.id)) continue;
        if (search.consider(candidate)) found++;
      } else if (search.consider(scratch.view(candidate))) found++;
    }

    if (!search.best) {
      // Every candidate was visited and refused; now the rest of the cluster, for the report.
      lookOutsideCandidates(index, candidates, scratch, reRankUsed, search);
      if (!search.best) {
        failure = describeFailure(search.rejectionCounts(), index.size, [...prepared.memberOfErrors, ...tooOldAgents(index)]);
        failures.push(failure);
        continue;
      }
    }

    // A task needing GPUs gets specific ones, chosen on the view it was checked against (so tasks
    // of one request placed on the same instance get different ones).
    const gpuIds = request.reservation.gpus ? pickGpus(search.best, request.reservation.gpus) : undefined;
    const placed = scratch.place(search.best, gpuIds ? { ...request.reservation, gpuIds } : request.reservation, request.group);
    for (const r of rankers) r.placed?.(placed);
    placements.push(gpuIds ? { instanceId: placed.id, gpuIds } : { instanceId: placed.id });
  }
  return { placements, failures, rejections: search.rejections() };
}

/** A one-instance index (a copy: placing on it books nothing on the cluster's). */
function onlyInstance(index: ClusterIndex, id: string): ClusterIndex {
  const instance = index.get(id);
  return ClusterIndex.from(instance ? [instance] : []);
}

/**
 * Instances the sampling pass never saw: the ones outside the candidate set (draining, other
 * attribute values, ...). Any of them found feasible is still offered: the candidate set is a
 * superset of the feasible instances by construction, but a mistake there should cost time, not a
 * placement.
 */
function lookOutsideCandidates(index: ClusterIndex, candidates: CandidateSource, scratch: ScratchOverlay, usedWereRanked: boolean, search: TaskSearch): void {
  for (const instance of index.instances()) {
    if (candidates.contains(instance)) continue;
    if (usedWereRanked && scratch.has(instance.id)) continue;
    search.consider(scratch.view(instance));
  }
}

/**
 * One task's search: remembers refusals (in flat arrays; a Map insert per refused candidate was a
 * quarter of the run time in a nearly full cluster) and the best feasible candidate so far.
 * Scores compare lexicographically, lower first, then by instance id.
 */
class TaskSearch {
  best: InstanceView | null = null;
  private bestScores: Float64Array;
  private candidateScores: Float64Array;
  private readonly refusedIds: string[] = [];
  private readonly refusedReasons: FailureReason[] = [];

  constructor(
    private readonly request: PreparedRequest,
    private readonly rankers: readonly Ranker[],
  ) {
    this.bestScores = new Float64Array(rankers.length);
    this.candidateScores = new Float64Array(rankers.length);
  }

  reset(): void {
    this.best = null;
    this.refusedIds.length = 0;
    this.refusedReasons.length = 0;
  }

  /** Runs the checker chain; ranks the instance if feasible. Returns whether it was feasible. */
  consider(view: InstanceView): boolean {
    const reason = firstRejection(view, this.request);
    if (reason !== null) {
      this.refusedIds.push(view.id);
      this.refusedReasons.push(reason);
      return false;
    }
    this.offer(view);
    return true;
  }

  rejections(): Map<string, FailureReason> {
    const out = new Map<string, FailureReason>();
    for (let k = 0; k < this.refusedIds.length; k++) out.set(this.refusedIds[k]!, this.refusedReasons[k]!);
    return out;
  }

  rejectionCounts(): Map<FailureReason, number> {
    const counts = new Map<FailureReason, number>();
    for (const reason of this.refusedReasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    return counts;
  }

  private offer(view: InstanceView): void {
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

/** Only when a placement failed: say which refusals were agents too old to take work. */
function tooOldAgents(index: { instances(): Iterable<InstanceView> }): string[] {
  let n = 0;
  for (const i of index.instances()) if (attributeOf(i, AGENT_VERSION_SKEW_ATTRIBUTE) === "too-old") n++;
  return n ? [`${n} instance(s) run an agent more than one minor version behind the control service and get no new tasks until upgraded (attribute ${AGENT_VERSION_SKEW_ATTRIBUTE})`] : [];
}
