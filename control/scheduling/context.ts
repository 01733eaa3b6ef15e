import type { ChangeBus } from "../change-bus.ts";
import type { ContainerStatsStore } from "../container-stats.ts";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/open.ts";
import type { EventSignal } from "../events/log.ts";
import type { ControlMetrics } from "../metrics/control-metrics.ts";
import type { ImagePlatforms } from "./image-platforms.ts";
import type { PlacementIndexCache } from "./index-cache.ts";
import type { PlacementStore } from "./placement-store.ts";

/**
 * Everything an operation needs; built once by createControl, so tests build real pieces. It is
 * defined here, beside the placement index cache it carries, rather than in ops/: the service
 * scheduler and placement commits take the same context, and the import graph runs one way
 * (ops → services → scheduling → db), so the type lives at the lowest layer that uses it.
 */
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
  /** Registry look-ups of image platforms; without one, each database gets a default (image-platforms.ts). */
  imagePlatforms?: ImagePlatforms;
  /** Change notifications for live views (the web console); absent in tests that need none. */
  changes?: ChangeBus;
  /** Recent container stats the agents sampled (in memory, per control process); absent: none shown. */
  containerStats?: ContainerStatsStore;
  /** Told after events are appended (control/events), so this process's streams and webhooks wake at once. */
  eventSignal?: EventSignal;
  /** This control's Prometheus metrics (control/metrics); absent: nothing is counted. */
  metrics?: ControlMetrics;
}
