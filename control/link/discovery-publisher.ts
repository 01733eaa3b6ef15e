import type { ChangeBus } from "../change-bus.ts";
import type { DiscoverySet } from "../../shared/discovery.ts";
import type { OpsContext } from "../ops/context.ts";
import { discoveryClusters, discoveryServices, nextDiscoverySet } from "../ops/discovery.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface DiscoveryPublisherOptions {
  /** Publishes a cluster's set, retained on its cluster topic (the link's MQTT client). */
  publish(set: DiscoverySet): Promise<void>;
  /**
   * Every cluster's set goes out again under a new generation this often even when nothing
   * changed: how an agent tells fresh records from ones a lost control left behind (it stales
   * records not renewed within its --dns-stale-after).
   */
  refreshMs?: number;
  /** Changes within this window are one rebuild. */
  delayMs?: number;
  /**
   * At least this long between the starts of two rebuilds: a burst (a 500-task scale-up, each
   * report a change) is a rebuild every interval, not one per report.
   */
  minIntervalMs?: number;
  /**
   * Also rebuild this often without a change notification (0: never). Under HA the leader
   * publishes, but reports are applied by whichever process got them, whose notifications the
   * leader does not hear.
   */
  pollMs?: number;
  /**
   * Bytes a second the sets of one cluster may cost the broker's fan-out (set size × hosts):
   * a set holds every serving task, so a big cluster changing fast would otherwise flood every
   * host. Within a burst, a cluster's next set waits until its last one fits the budget.
   */
  fanoutBytesPerSecond?: number;
  log?: Logger;
}

export const DEFAULT_DISCOVERY_REFRESH_MS = 60_000;
export const DEFAULT_DISCOVERY_DELAY_MS = 50;
export const DEFAULT_DISCOVERY_MIN_INTERVAL_MS = 250;
export const DEFAULT_DISCOVERY_FANOUT_BYTES_PER_SECOND = 16 * 1024 * 1024;

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
  /** Per cluster: no new set before this time (the fan-out budget), unless forced. */
  private notBefore = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private lastStart = 0;
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
    if (this.opts.pollMs) this.pollTimer = setInterval(() => this.changed(), this.opts.pollMs);
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
    clearInterval(this.pollTimer);
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
    const wait = Math.max(this.opts.delayMs ?? DEFAULT_DISCOVERY_DELAY_MS, this.lastStart + (this.opts.minIntervalMs ?? DEFAULT_DISCOVERY_MIN_INTERVAL_MS) - Date.now());
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.lastStart = Date.now();
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.changed();
        }
      });
    }, wait);
  }

  private async flush(): Promise<void> {
    const force = this.forceAll;
    this.forceAll = false;
    try {
      let deferred = false;
      for (const [cluster, hosts] of await discoveryClusters(this.ctx)) deferred = (await this.flushCluster(cluster, hosts, force)) || deferred;
      if (deferred) this.again = true;
    } catch (e) {
      withComponent(this.opts.log ?? silentLogger, "discovery").warn(`publishing discovery records failed: ${(e as Error).message}`);
    }
  }

  /** True when a changed set had to wait for the fan-out budget (the flush runs again later). */
  private async flushCluster(cluster: string, hosts: number, force: boolean): Promise<boolean> {
    if (!force && Date.now() < (this.notBefore.get(cluster) ?? 0)) return true;
    const services = await discoveryServices(this.ctx, cluster);
    const json = JSON.stringify(services);
    if (!force && json === this.last.get(cluster)) return false;
    const set = await nextDiscoverySet(this.ctx, cluster, services);
    if (!set) return false;
    await this.opts.publish(set);
    this.last.set(cluster, json);
    const budget = this.opts.fanoutBytesPerSecond ?? DEFAULT_DISCOVERY_FANOUT_BYTES_PER_SECOND;
    this.notBefore.set(cluster, Date.now() + (json.length * hosts * 1000) / budget);
    return false;
  }
}
