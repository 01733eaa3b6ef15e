import { ClusterIndex, type InstanceView } from "../placement/index.ts";
import type { Reservation } from "../../shared/task-definition/index.ts";
import type { Clock } from "../clock.ts";

interface Entry {
  index: ClusterIndex;
  loadedAt: number;
  dirty: Set<string>;
}

/**
 * What the commit pipeline (commit-pipeline.ts) needs from re-reads: instances with commits in
 * flight keep their in-memory entry, which holds reservations the database does not have yet.
 */
export interface RefreshGuard {
  busy(instanceId: string): boolean;
  /** These instances (all, when omitted) were just re-read from the database. */
  refreshed(instanceIds?: Iterable<string>): void;
}

/**
 * Where the index reads instances from: the placement store (placement-store.ts), which also says
 * which instances have commits in flight. Declared here so the store can depend on this file
 * without a cycle.
 */
export interface IndexSource {
  cluster(clusterName: string): InstanceView[];
  instances(clusterName: string, ids: Iterable<string>): InstanceView[];
  readonly guard: RefreshGuard;
}

/**
 * Keeps each cluster's placement index in memory so RunTask does not read every instance. Writers
 * call `instanceChanged` and the row is re-read before the next placement; the commit's version
 * check makes a missed notification cost a retry, never an oversubscription, and a periodic full
 * reload bounds how long anything can stay stale.
 */
export class PlacementIndexCache {
  private entries = new Map<string, Entry>();
  private loading = new Map<string, Promise<Entry>>();
  /** The commit pipeline's (the store's) unless a caller passes another. */
  private guard: RefreshGuard;

  constructor(
    private store: IndexSource,
    private clock: Clock,
    private maxAgeMs = 10_000,
  ) {
    this.guard = store.guard;
  }

  instanceChanged(instanceId: string): void {
    for (const e of this.entries.values()) e.dirty.add(instanceId);
  }

  /**
   * A stopped task's reservation went back to its instance, whose row is now at `version`. When
   * the index holds exactly the row before that (version − 1, nothing pending) the release is
   * applied in place; otherwise the instance is re-read. Saves two reads per stopped task, which
   * cost more than placing a task (docs/benchmarks.md).
   */
  taskReleased(task: { clusterName: string; instanceId: string; reservation: Reservation; group: string }, version: number): void {
    const entry = this.entries.get(task.clusterName);
    if (!entry) return;
    const id = task.instanceId;
    const view = entry.index.get(id);
    if (view && view.version === version - 1 && !entry.dirty.has(id) && !this.guard.busy(id)) {
      entry.index.release(id, task.reservation, task.group, version);
    } else {
      entry.dirty.add(id);
    }
  }

  /** Drops a cluster's index (new instances appear on the next load). */
  clusterChanged(clusterName: string): void {
    this.entries.delete(clusterName);
  }

  async get(clusterName: string, guard: RefreshGuard = this.guard): Promise<ClusterIndex> {
    this.guard = guard;
    let entry = this.entries.get(clusterName);
    if (!entry || this.clock.now() - entry.loadedAt > this.maxAgeMs) entry = await this.load(clusterName, guard);
    if (entry.dirty.size) {
      const ids: string[] = [];
      for (const id of entry.dirty) {
        if (guard.busy(id)) continue;
        ids.push(id);
        entry.dirty.delete(id);
      }
      if (ids.length) {
        const views = this.store.instances(clusterName, ids);
        const found = new Set(views.map((v) => v.id));
        for (const v of views) entry.index.upsert(v);
        for (const id of ids) if (!found.has(id)) entry.index.remove(id);
        guard.refreshed(ids);
      }
    }
    return entry.index;
  }

  private load(clusterName: string, guard: RefreshGuard): Promise<Entry> {
    let p = this.loading.get(clusterName);
    if (!p) {
      const startedAt = this.clock.now();
      p = Promise.resolve()
        .then(() => this.store.cluster(clusterName))
        .then((views) => {
          const entry: Entry = { index: ClusterIndex.from(keepBusy(views, this.entries.get(clusterName), guard)), loadedAt: startedAt, dirty: new Set() };
          const old = this.entries.get(clusterName);
          if (old) for (const id of old.dirty) if (guard.busy(id)) entry.dirty.add(id);
          this.entries.set(clusterName, entry);
          guard.refreshed();
          return entry;
        })
        .finally(() => this.loading.delete(clusterName));
      this.loading.set(clusterName, p);
    }
    return p;
  }
}

/** Fresh views, except that instances with commits in flight keep their in-memory entry. */
function keepBusy(views: InstanceView[], old: Entry | undefined, guard: RefreshGuard): InstanceView[] {
  if (!old) return views;
  const out: InstanceView[] = [];
  const seen = new Set<string>();
  for (const v of views) {
    seen.add(v.id);
    out.push(guard.busy(v.id) ? (old.index.get(v.id) ?? v) : v);
  }
  for (const v of old.index.instances()) if (!seen.has(v.id) && guard.busy(v.id)) out.push(v);
  return out;
}
