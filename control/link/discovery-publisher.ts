import type { ChangeBus } from "../change-bus.ts";
import type { DiscoverySet } from "../../shared/discovery.ts";
import type { OpsContext } from "../ops/context.ts";
import { discoveryAudience, discoveryServices, nextDiscoverySet } from "../ops/discovery.ts";

export interface DiscoveryPublisherOptions {
  /** Publishes one instance's set, retained (the link's MQTT client). */
  publish(instanceId: string, set: DiscoverySet): Promise<void>;
  /**
   * Every cluster's set goes out again under a new generation this often even when nothing
   * changed: how an agent tells fresh records from ones a lost control left behind (it stales
   * records not renewed within its --dns-stale-after).
   */
  refreshMs?: number;
  /** Changes within this window are one rebuild. */
  delayMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_DISCOVERY_REFRESH_MS = 60_000;

/**
 * Publishes each cluster's service discovery set to every live instance of it when the records
 * change. It hears the same change notifications as the desired-state publisher and the console
 * (tasks, instances, services), rebuilds, and publishes only a set whose records differ from the
 * last one (a report that changes nothing discoverable costs one read, no generation, no message).
 */
export class DiscoveryPublisher {
  private last = new Map<string, { json: string; set: DiscoverySet; sentTo: Set<string>; at: number }>();
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
    clearInterval(this.refreshTimer);
    await this.running;
  }

  /** Resolves once no rebuild is waiting or under way (tests, and a stopping control). */
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
    }, this.opts.delayMs ?? 10);
  }

  private async flush(): Promise<void> {
    const force = this.forceAll;
    this.forceAll = false;
    try {
      const audience = await discoveryAudience(this.ctx);
      for (const [cluster, instanceIds] of audience) await this.flushCluster(cluster, instanceIds, force);
    } catch (e) {
      this.opts.log?.(`[discovery] publishing discovery records failed: ${(e as Error).message}`);
    }
  }

  private async flushCluster(cluster: string, instanceIds: string[], force: boolean): Promise<void> {
    const prev = this.last.get(cluster);
    let targets: string[];
    let entry = prev;
    if (force || !prev || JSON.stringify(await discoveryServices(this.ctx, cluster)) !== prev.json) {
      const set = await nextDiscoverySet(this.ctx, cluster);
      if (!set) return;
      entry = { json: JSON.stringify(set.services), set, sentTo: new Set(), at: Date.now() };
      this.last.set(cluster, entry);
      targets = instanceIds;
    } else {
      // Unchanged records: only instances that never got this set (registered since) are sent it.
      targets = instanceIds.filter((id) => !prev.sentTo.has(id));
    }
    const e = entry!;
    await Promise.all(
      targets.map(async (id) => {
        await this.opts.publish(id, e.set);
        e.sentTo.add(id);
      }),
    );
  }
}
