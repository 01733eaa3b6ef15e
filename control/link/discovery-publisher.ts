import type { ChangeBus } from "../change-bus.ts";
import type { DiscoverySet } from "../../shared/discovery.ts";
import type { OpsContext } from "../ops/context.ts";
import { discoveryClusters, discoveryServices, nextDiscoverySet } from "../ops/discovery.ts";

export interface DiscoveryPublisherOptions {
  /** Publishes a cluster's set, retained on its cluster topic (the link's MQTT client). */
  publish(set: DiscoverySet): Promise<void>;
  /**
   * Every cluster's set goes out again under a new generation this often even when nothing
   * changed: how an agent tells fresh records from ones a lost control left behind (it stales
   * records not renewed within its --dns-stale-after).
   */
  refreshMs?: number;
  /** Changes within this window are one rebuild (a 500-task scale-up is a few sets, not 500). */
  delayMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_DISCOVERY_REFRESH_MS = 60_000;
export const DEFAULT_DISCOVERY_DELAY_MS = 50;

/**
 * Publishes each cluster's service discovery set when its records change. It hears the same
 * change notifications as the desired-state publisher and the console (tasks, instances,
 * services), rebuilds, and publishes only a set whose records differ from the last one (a report
 * that changes nothing discoverable costs a read, no generation, no message). One retained
 * message per cluster; the broker gives it to every agent of the cluster, also to one that
 * connects later.
 */
export class DiscoveryPublisher {
  private last = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private forceAll = false;
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(
    private ctx: OpsContext,
    private changes: ChangeBus,
    private opts: DiscoveryPublisherOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.changes.subscribe(() => this.changed());
    const refresh = this.opts.refreshMs ?? DEFAULT_DISCOVERY_REFRESH_MS;
    if (refresh > 0) {
      this.refreshTimer = setInterval(() => {
        this.forceAll = true;
        this.changed();
      }, refresh);
    }
    // At start every cluster's set goes out under a new generation (as desired sets are republished).
    this.forceAll = true;
    this.changed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.refreshTimer);
    await this.running;
  }

  /** Resolves once no rebuild is waiting or under way. */
  async idle(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Something changed: rebuild soon (once per burst). */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.changed();
        }
      });
    }, this.opts.delayMs ?? DEFAULT_DISCOVERY_DELAY_MS);
  }

  private async flush(): Promise<void> {
    const force = this.forceAll;
    this.forceAll = false;
    try {
      for (const cluster of await discoveryClusters(this.ctx)) await this.flushCluster(cluster, force);
    } catch (e) {
      this.opts.log?.(`[discovery] publishing discovery records failed: ${(e as Error).message}`);
    }
  }

  private async flushCluster(cluster: string, force: boolean): Promise<void> {
    if (!force && JSON.stringify(await discoveryServices(this.ctx, cluster)) === this.last.get(cluster)) return;
    const set = await nextDiscoverySet(this.ctx, cluster);
    if (!set) return;
    await this.opts.publish(set);
    this.last.set(cluster, JSON.stringify(set.services));
  }
}
