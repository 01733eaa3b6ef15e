import type { Clock } from "../clock.ts";
import type { Db } from "../db/open.ts";
import type { PlacementIndexCache } from "../scheduling/index-cache.ts";
import type { PlacementStore } from "../scheduling/placement-store.ts";

/** Everything an operation needs; built once by createControl, so tests build real pieces. */
export interface OpsContext {
  db: Db;
  clock: Clock;
  /**
   * Runs a read-modify-write section alone. libSQL local files allow one writer; queueing writers
   * in-process avoids SQLITE_BUSY and keeps check-then-write sections atomic.
   */
  serialize<T>(fn: () => Promise<T>): Promise<T>;
  /** Called after a commit that changed an instance's desired task set. */
  desiredChanged(instanceId: string): void;
  /**
   * In-memory placement indexes. Every write to a container instance row must call
   * `indexes.instanceChanged(id)` (and bump the row's version when it affects placement).
   */
  indexes: PlacementIndexCache;
  /**
   * The placement's commit, release and index reads (one implementation of each). The leader's
   * context carries a fenced handle (control/leader/fenced-context.ts): its writes prove the lease.
   */
  placement: PlacementStore;
  /** Pokes the service scheduler (control/services) after a change it should act on soon. */
  servicesChanged?(): void;
}

export function createSerializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
