import { ne } from "drizzle-orm";
import { services } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { DisconnectTracker, loadServiceInstances } from "./cluster-view.ts";
import { finishDeactivations, isDeactivating } from "./deactivation.ts";
import { reconcileDaemon } from "./reconcile-daemon.ts";
import { reconcileReplica } from "./reconcile-replica.ts";
import { checkCircuitBreaker, failedTasksByDeployment, recordFailedTasks } from "./rollout-state.ts";
import { loadSnapshot, type ClusterView } from "./snapshot.ts";
import type { ServiceRow } from "../db/rows.ts";
import { latencyTrace } from "../latency-trace.ts";
import { loadWindowGate } from "./window-gate.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface ServiceSchedulerOptions {
  /** Level-triggered safety net: a full round at least this often. */
  intervalMs?: number;
  /** Least time between two rounds, so a burst of pokes (task reports) costs one round. */
  minGapMs?: number;
  log?: Logger;
}

/**
 * The service scheduler: a level-triggered reconcile loop. Each round reads every live service,
 * its deployments and tasks and the cluster's instances from the database and acts on the
 * difference, so nothing it needs lives only in memory and a restarted control picks up where the
 * last one stopped. It runs every intervalMs and soon after poke() (task reports, presence, API
 * changes); rounds never overlap.
 */
export class ServiceScheduler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private lastRoundAt = 0;
  /** When the oldest change not yet acted on was poked (null: none); its wait is the reconcile lag. */
  private pokedAt: number | null = null;
  /** When each instance was first seen disconnected by this process. */
  private readonly disconnects: DisconnectTracker;
  private readonly intervalMs: number;
  private readonly minGapMs: number;
  private readonly log: Logger;

  constructor(
    private ctx: OpsContext,
    opts: ServiceSchedulerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.minGapMs = opts.minGapMs ?? 50;
    this.log = withComponent(opts.log ?? silentLogger, "services");
    this.disconnects = new DisconnectTracker(ctx.clock.now());
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Something relevant changed: run a round soon. */
  poke(): void {
    if (this.stopped) return;
    this.pokedAt ??= performance.now();
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(Math.max(0, this.lastRoundAt + this.minGapMs - Date.now()));
  }

  /** Runs one round now (tests and benchmarks drive the loop directly with this). */
  async runOnce(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.again = false;
    await this.runOnce();
    this.schedule(this.again ? this.minGapMs : this.intervalMs);
  }

  private async round(): Promise<void> {
    this.lastRoundAt = Date.now();
    const t0 = performance.now();
    const metrics = this.ctx.metrics;
    if (this.pokedAt !== null) metrics?.serviceReconcileLag.observe((t0 - this.pokedAt) / 1000);
    this.pokedAt = null;
    try {
      await this.reconcileAll(t0);
    } finally {
      metrics?.serviceRoundDuration.observe((performance.now() - t0) / 1000);
    }
  }

  private async reconcileAll(t0: number): Promise<void> {
    const live = await this.ctx.db.select().from(services).where(ne(services.status, "INACTIVE")).all();
    const clusters = new Set(live.map((s) => s.clusterName));
    this.disconnects.retain(clusters);
    if (live.length === 0) return;
    const now = this.ctx.clock.now();
    for (const cluster of clusters) {
      const inCluster = live.filter((s) => s.clusterName === cluster);
      const daemonServices = new Set(inCluster.filter((s) => s.schedulingStrategy === "DAEMON").map((s) => s.serviceName));
      const instances = await loadServiceInstances(this.ctx, cluster, inCluster.map((s) => s.serviceName), daemonServices.size > 0);
      this.disconnects.observe(cluster, instances, now);
      // Benchmark trace (scripts/bench/fleet.ts): what a round's instance read costs.
      if (latencyTrace.enabled) latencyTrace.event("serviceRound", { cluster, instancesMs: performance.now() - t0, instances: instances.length });
      const view: ClusterView = {
        now,
        instances: new Map(instances.map((i) => [i.id, i])),
        disconnectedSince: (inst) => this.disconnects.since(inst),
        daemonServices,
        windows: await loadWindowGate(this.ctx, cluster, now),
      };
      for (const svc of inCluster) {
        try {
          await this.reconcile(svc, view);
        } catch (e) {
          this.log.error({ cluster, service: svc.serviceName, err: e }, `${cluster}/${svc.serviceName}: reconcile failed: ${(e as Error).message ?? e}`);
        }
      }
    }
    if (latencyTrace.enabled) latencyTrace.event("serviceRoundDone", { ms: performance.now() - t0 });
  }

  private async reconcile(svc: ServiceRow, view: ClusterView): Promise<void> {
    let snap = await loadSnapshot(this.ctx, svc, view);
    // Deregistration delays that have passed: their stops go out before the round counts tasks.
    if (snap?.stopping.some((t) => isDeactivating(t.task) && (t.task.deactivationEndsAt ?? 0) <= view.now)) {
      await finishDeactivations(this.ctx, svc.clusterName, svc.serviceName);
      snap = await loadSnapshot(this.ctx, svc, view);
    }
    if (!snap) return;
    const failed = await failedTasksByDeployment(this.ctx, svc, snap.deps.map((d) => d.id));
    await recordFailedTasks(this.ctx, snap.deps, failed);
    // A tripped breaker changes the deployments: the next round acts on the new ones.
    if (await checkCircuitBreaker(this.ctx, svc, snap.primary, snap.cfg)) return this.poke();
    if (svc.schedulingStrategy === "DAEMON") await reconcileDaemon(this.ctx, snap, view);
    else await reconcileReplica(this.ctx, snap, view);
  }
}


