import { ClusterIndex } from "../placement/index.ts";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/open.ts";
import { loadInstanceViews } from "./instance-views.ts";

interface Entry {
  index: ClusterIndex;
  loadedAt: number;
  dirty: Set<string>;
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

  constructor(
    private db: Db,
    private clock: Clock,
    private maxAgeMs = 10_000,
  ) {}

  instanceChanged(instanceId: string): void {
    for (const e of this.entries.values()) e.dirty.add(instanceId);
  }

  /** Drops a cluster's index (new instances appear on the next load). */
  clusterChanged(clusterName: string): void {
    this.entries.delete(clusterName);
  }

  async get(clusterName: string): Promise<ClusterIndex> {
    let entry = this.entries.get(clusterName);
    if (!entry || this.clock.now() - entry.loadedAt > this.maxAgeMs) entry = await this.load(clusterName);
    if (entry.dirty.size) {
      const ids = [...entry.dirty];
      entry.dirty.clear();
      const views = await loadInstanceViews(this.db, clusterName, ids);
      const found = new Set(views.map((v) => v.id));
      for (const v of views) entry.index.upsert(v);
      for (const id of ids) if (!found.has(id)) entry.index.remove(id);
    }
    return entry.index;
  }

  private load(clusterName: string): Promise<Entry> {
    let p = this.loading.get(clusterName);
    if (!p) {
      const startedAt = this.clock.now();
      p = loadInstanceViews(this.db, clusterName)
        .then((views) => {
          const entry: Entry = { index: ClusterIndex.from(views), loadedAt: startedAt, dirty: new Set() };
          this.entries.set(clusterName, entry);
          return entry;
        })
        .finally(() => this.loading.delete(clusterName));
      this.loading.set(clusterName, p);
    }
    return p;
  }
}
