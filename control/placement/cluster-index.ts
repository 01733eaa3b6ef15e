import { checkAgentConnected, checkHealth, checkStatus } from "./checkers/agent.ts";
import { IndexedSet } from "./indexed-set.ts";
import { applyReservation, attributeOf, cloneInstanceView, removeReservation } from "./instance-view.ts";
import { bucketFunction, type BucketOf } from "./spread-buckets.ts";
import type { InstanceView, Reservation } from "./types.ts";

const EMPTY: readonly InstanceView[] = [];
const NO_HOSTS: ReadonlyMap<string, number> = new Map();
const NO_TALLY: ReadonlyMap<string, number> = new Map();

interface SpreadTally {
  bucketOf: BucketOf;
  counts: Map<string, number>;
}

export type InstancePatch = Partial<Pick<InstanceView, "status" | "agentConnected" | "healthStatus" | "attributes" | "version">>;

/**
 * The control service's in-memory picture of one cluster's container instances, kept ready for the
 * engine:
 *  - `schedulable`: instances that pass the agent checks (ACTIVE, connected, not IMPAIRED), as a
 *    positional set the engine samples from, so draining or dead instances cost nothing per task;
 *  - per-attribute posting lists over schedulable instances, built the first time a request asks
 *    for an attribute by equality and maintained incrementally afterwards;
 *  - task group → hosting instances, and per (group, spread field) the group's task count per
 *    bucket (zone, host, ...), built on a group's first spread request and maintained on every
 *    change, so spreading a 5,000-task service costs the same as spreading a 5-task one.
 *
 * The index owns copies of what it is given. Callers change it only through upsert / patch /
 * remove / reserve / release; `placeTasks` reads it and never changes it.
 */
export class ClusterIndex {
  private readonly byId = new Map<string, InstanceView>();
  private readonly schedulableSet = new IndexedSet<InstanceView>();
  /** attribute name → value → schedulable instances with that value. */
  private readonly postings = new Map<string, Map<string, IndexedSet<InstanceView>>>();
  /** group → instance id → live tasks of the group on it. */
  private readonly hostsByGroup = new Map<string, Map<string, number>>();
  /** group → spread field → tally; dropped with the group's last task. */
  private readonly tallies = new Map<string, Map<string, SpreadTally>>();

  static from(instances: Iterable<InstanceView>): ClusterIndex {
    const index = new ClusterIndex();
    for (const i of instances) index.upsert(i);
    return index;
  }

  get size(): number {
    return this.byId.size;
  }

  get schedulableCount(): number {
    return this.schedulableSet.size;
  }

  /** The index's own copy: read it, do not change it. */
  get(id: string): InstanceView | undefined {
    return this.byId.get(id);
  }

  instances(): IterableIterator<InstanceView> {
    return this.byId.values();
  }

  /** Instances that pass the agent checks, in arbitrary order. */
  schedulable(): readonly InstanceView[] {
    return this.schedulableSet.items;
  }

  /** Schedulable instances whose attribute `name` equals `value`. */
  schedulableWithAttribute(name: string, value: string): readonly InstanceView[] {
    return this.postingsFor(name).get(value)?.items ?? EMPTY;
  }

  groupHosts(group: string): ReadonlyMap<string, number> {
    return this.hostsByGroup.get(group) ?? NO_HOSTS;
  }

  /**
   * Live tasks of `group` per bucket of a spread field ("host" or "attribute:NAME"). Cached and
   * kept current from the first call on; an empty map for `instanceId` or a group with no tasks.
   */
  spreadTally(group: string, field: string): ReadonlyMap<string, number> {
    const cached = this.tallies.get(group)?.get(field);
    if (cached) return cached.counts;
    const bucketOf = bucketFunction(field);
    const hosts = this.hostsByGroup.get(group);
    if (!bucketOf || !hosts) return NO_TALLY;
    const counts = new Map<string, number>();
    for (const [id, n] of hosts) {
      const host = this.byId.get(id);
      if (!host) continue;
      const bucket = bucketOf(host);
      counts.set(bucket, (counts.get(bucket) ?? 0) + n);
    }
    let byField = this.tallies.get(group);
    if (!byField) {
      byField = new Map();
      this.tallies.set(group, byField);
    }
    byField.set(field, { bucketOf, counts });
    return counts;
  }

  /** Adds or replaces an instance (registration, re-registration, reconciliation from the database). */
  upsert(instance: InstanceView): void {
    const old = this.byId.get(instance.id);
    if (old) this.detach(old);
    const own = cloneInstanceView(instance, { copyAttributes: true });
    this.byId.set(own.id, own);
    this.attach(own);
  }

  /** Changes status, connectivity, health, attributes or version; returns false for an unknown id. */
  patch(id: string, changes: InstancePatch): boolean {
    const old = this.byId.get(id);
    if (!old) return false;
    this.upsert({ ...old, ...changes });
    return true;
  }

  remove(id: string): boolean {
    const old = this.byId.get(id);
    if (!old) return false;
    this.detach(old);
    this.byId.delete(id);
    return true;
  }

  /**
   * Books a committed task. `version`, when given, is the instance's row version after the commit,
   * so the next placement's optimistic check starts from the right value.
   */
  reserve(id: string, reservation: Reservation, group: string, version?: number): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    applyReservation(v, reservation, group);
    this.addGroupHost(group, v, 1);
    if (version !== undefined) v.version = version;
    return true;
  }

  /** Returns a stopped task's resources. */
  release(id: string, reservation: Reservation, group: string, version?: number): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    const hadGroup = (v.groups.get(group) ?? 0) > 0;
    removeReservation(v, reservation, group);
    if (hadGroup) this.addGroupHost(group, v, -1);
    if (version !== undefined) v.version = version;
    return true;
  }

  private attach(v: InstanceView): void {
    for (const [group, count] of v.groups) if (count > 0) this.addGroupHost(group, v, count);
    if (!isSchedulable(v)) return;
    this.schedulableSet.set(v.id, v);
    for (const [name, byValue] of this.postings) {
      const value = attributeOf(v, name);
      if (value !== undefined) postingFor(byValue, value).set(v.id, v);
    }
  }

  private detach(v: InstanceView): void {
    for (const [group, count] of v.groups) if (count > 0) this.addGroupHost(group, v, -count);
    if (!this.schedulableSet.delete(v.id)) return;
    for (const [name, byValue] of this.postings) {
      const value = attributeOf(v, name);
      if (value === undefined) continue;
      const set = byValue.get(value);
      if (set?.delete(v.id) && set.size === 0) byValue.delete(value);
    }
  }

  private postingsFor(name: string): Map<string, IndexedSet<InstanceView>> {
    let byValue = this.postings.get(name);
    if (byValue) return byValue;
    byValue = new Map();
    for (const v of this.schedulableSet.items) {
      const value = attributeOf(v, name);
      if (value !== undefined) postingFor(byValue, value).set(v.id, v);
    }
    this.postings.set(name, byValue);
    return byValue;
  }

  private addGroupHost(group: string, v: InstanceView, delta: number): void {
    let hosts = this.hostsByGroup.get(group);
    if (!hosts) {
      if (delta <= 0) return;
      hosts = new Map();
      this.hostsByGroup.set(group, hosts);
    }
    const n = (hosts.get(v.id) ?? 0) + delta;
    if (n > 0) hosts.set(v.id, n);
    else hosts.delete(v.id);
    if (hosts.size === 0) {
      this.hostsByGroup.delete(group);
      this.tallies.delete(group);
      return;
    }
    const byField = this.tallies.get(group);
    if (!byField) return;
    for (const tally of byField.values()) {
      const bucket = tally.bucketOf(v);
      const m = (tally.counts.get(bucket) ?? 0) + delta;
      if (m > 0) tally.counts.set(bucket, m);
      else tally.counts.delete(bucket);
    }
  }
}

function postingFor(byValue: Map<string, IndexedSet<InstanceView>>, value: string): IndexedSet<InstanceView> {
  let set = byValue.get(value);
  if (!set) {
    set = new IndexedSet();
    byValue.set(value, set);
  }
  return set;
}

export function isSchedulable(v: InstanceView): boolean {
  return checkStatus(v) === null && checkAgentConnected(v) === null && checkHealth(v) === null;
}
