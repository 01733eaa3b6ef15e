import { randomBytes } from "node:crypto";
import type { AgentUpdate, HostFacts, InstanceHealth, Report, UpgradeRequest } from "../shared/messages.ts";
import { ImageCleaner } from "./engine/image-cleanup.ts";
import { TaskEngine } from "./engine/task-engine.ts";
import { LogServer } from "./logs/log-server.ts";
import { ExecServer } from "./exec/exec-server.ts";
import { DEFAULT_STATS_INTERVAL_MS, StatsSampler } from "./engine/stats-sampler.ts";
import type { AgentLink } from "./link/mqtt-link.ts";
import type { ContainerRuntime, ImagePullBehavior } from "./runtime/types.ts";
import { DEFAULT_MAX_CONCURRENT_PULLS, limitPulls, PullLimiter } from "./runtime/pull-limiter.ts";
import type { ByteRateLimiter } from "./runtime/registry/byte-rate-limiter.ts";
import { ImagePrefetcher } from "./engine/image-prefetcher.ts";
import type { StateStore } from "./store/state-file.ts";
import type { AgentMetrics } from "./metrics/agent-metrics.ts";
import type { Logger } from "../shared/log.ts";
import type { DiscoveryStore } from "./discovery/discovery-store.ts";

export interface AgentOptions {
  runtime: ContainerRuntime;
  link: AgentLink;
  store: StateStore;
  instanceId: string;
  clusterName: string;
  facts: HostFacts;
  imagePullBehavior?: ImagePullBehavior;
  /** Image pulls at a time on this host, task starts and prefetches together (--max-concurrent-pulls). */
  maxConcurrentPulls?: number;
  /** The host's pull bandwidth cap (--max-pull-bytes-per-second), the control's overriding it. */
  maxPullBytesPerSecond?: number;
  /** The limiter the runtime's own registry pulls draw from (main.ts shares it with the DockerRuntime's puller). */
  pullBandwidth?: ByteRateLimiter;
  relistIntervalMs?: number;
  /** Image of the container holding an awsvpc task's network namespace. */
  pauseImage?: string;
  /** Base URL of the task metadata endpoint the agent serves (agent/metadata/); undefined: none. */
  taskMetadataUrl?: string;
  cleanupWaitMs?: number;
  /** Host dir for FireLens routers' generated configs and sockets (`{data-dir}/firelens`). */
  firelensRoot?: string;
  /** Removal of images this agent pulled and nothing uses (ECS_IMAGE_CLEANUP_*); intervalMs 0: off. */
  imageCleanup?: { intervalMs: number; minimumAgeMs: number; imagesPerCycle: number };
  /** Coalesces bursts of changes into one report. */
  reportDelayMs?: number;
  /**
   * The full state (tasks, host facts, health) goes out again this often even when nothing
   * changed; 0: never. Reports are otherwise sent only on a change, so one the control lost (under
   * HA, a control process that died holding it) would stay lost until the next change; this
   * bounds that to one interval. The first comes after a random part of it, so a fleet that
   * started together does not resync together.
   */
  resyncIntervalMs?: number;
  /** Between container stats samples (cpu, memory of each running container); 0: off. */
  statsIntervalMs?: number;
  /** The agent's logger (shared/log.ts), its ids (cluster, instanceId) bound; default: silent. */
  log?: Logger;
  /** Prometheus metrics (agent/metrics); the runtime is instrumented by whoever builds it (main.ts). */
  metrics?: AgentMetrics;
  /** The engine's clock (tests: a restart policy's attempt period without waiting a minute). */
  now?: () => number;
  /** Service discovery records from the control (agent/discovery); undefined: none kept. */
  discovery?: DiscoveryStore;
  /** The DNS server given to containers (the agent's responder, port 53); undefined: Docker's default. */
  containerDns?: string;
  /** Self-upgrades (agent/upgrade): upgrade commands go to it, its status goes into every report. */
  /** Ingress ports the host's proxy could not bind (agent/ingress), sent in every report while there are any. */
  ingressProblems?: () => { listenPort: number; message: string }[];
  upgrader?: { status(): AgentUpdate | undefined; connected(): void; handle(req: UpgradeRequest): Promise<void> };
}

export interface Agent {
  engine: TaskEngine;
  logs: LogServer;
  exec: ExecServer;
  images: ImageCleaner;
  prefetcher: ImagePrefetcher;
  pulls: PullLimiter;
  stats: StatsSampler;
  /** Host facts changed: sent with the next report. */
  updateFacts(facts: HostFacts): void;
  /** A health reading worth sending: sent with the next report (and again after reconnecting). */
  updateHealth(health: InstanceHealth): void;
  /** Something reports carry changed outside the engine (the upgrade status): report soon. */
  reportSoon(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Kubernetes' kubelet re-posts an unchanged node status every 5 minutes too. */
export const DEFAULT_RESYNC_INTERVAL_MS = 300_000;

/**
 * Wires the engine to the link: desired sets in, full known state out. Reports are only sent while
 * connected; on every (re)connection the full state goes out again, so nothing that happened
 * offline is lost and nothing is queued without bound.
 */
export function createAgent(opts: AgentOptions): Agent {
  const bootId = randomBytes(8).toString("hex");
  let seq = 0;
  let factsSent = false;
  let facts = opts.facts;
  let health: InstanceHealth | undefined;
  let healthSent = false;
  /** Events older than this reached the control already (0: send them all, as after reconnecting). */
  let eventsSince = 0;
  let reportTimer: ReturnType<typeof setTimeout> | undefined;
  let leaseTimer: ReturnType<typeof setInterval> | undefined;
  let resyncTimer: ReturnType<typeof setTimeout> | undefined;

  /** The upgrade state the control last got: sent again only when it changes, or with the facts. */
  let updateSent = "";
  const sendReport = () => {
    reportTimer = undefined;
    const builtAt = Date.now();
    const agentUpdate = opts.upgrader?.status();
    const updateKey = agentUpdate ? JSON.stringify(agentUpdate) : "";
    // Only while the desired set lists prefetches: most reports carry none, and stay their size.
    const prefetches = prefetcher.reported();
    const ingressProblems = opts.ingressProblems?.() ?? [];
    const report: Report = {
      instanceId: opts.instanceId,
      bootId,
      seq: ++seq,
      generation: engine.state.generation,
      sentAt: Date.now(),
      facts: factsSent ? undefined : facts,
      health: healthSent ? undefined : health,
      agentUpdate: agentUpdate && (!factsSent || updateKey !== updateSent) ? agentUpdate : undefined,
      prefetches: prefetches.length ? prefetches : undefined,
      ingressProblems: ingressProblems.length ? ingressProblems.map((p) => ({ ...p, message: p.message.slice(0, 500) })) : undefined,
      tasks: engine.reportedTasks(eventsSince),
    };
    if (opts.link.publishReport(report)) {
      opts.metrics?.reportSent(report.generation);
      factsSent = healthSent = true;
      eventsSince = builtAt;
      updateSent = updateKey;
    }
  };
  const scheduleReport = () => {
    reportTimer ??= setTimeout(sendReport, opts.reportDelayMs ?? 20);
  };
  const resyncEvery = opts.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
  const resync = () => {
    resyncTimer = setTimeout(resync, resyncEvery);
    if (!opts.link.connected) return;
    factsSent = healthSent = false;
    scheduleReport();
  };

  const pulls = new PullLimiter(opts.maxConcurrentPulls);
  const engine = new TaskEngine({
    runtime: limitPulls(opts.runtime, pulls),
    store: opts.store,
    instanceId: opts.instanceId,
    clusterName: opts.clusterName,
    imagePullBehavior: opts.imagePullBehavior,
    relistIntervalMs: opts.relistIntervalMs,
    pauseImage: opts.pauseImage,
    taskMetadataUrl: opts.taskMetadataUrl,
    containerDns: opts.containerDns,
    cleanupWaitMs: opts.cleanupWaitMs,
    firelensRoot: opts.firelensRoot,
    log: opts.log,
    onChange: scheduleReport,
    onContainerRestarted: () => opts.metrics?.containerRestarted(opts.link.connected),
    now: opts.now,
  });
  opts.metrics?.observeState(() => engine.state);

  const prefetcher = new ImagePrefetcher({
    runtime: opts.runtime,
    limiter: pulls,
    imagePullBehavior: opts.imagePullBehavior ?? "default",
    pulled: (image) => engine.recordPulledImage(image),
    changed: scheduleReport,
    now: opts.now,
    log: opts.log,
  });

  const images = new ImageCleaner({
    runtime: opts.runtime,
    state: () => engine.state,
    forget: (images) => engine.forgetPulledImages(images),
    intervalMs: opts.imageCleanup?.intervalMs ?? 3600_000,
    minimumAgeMs: opts.imageCleanup?.minimumAgeMs ?? 3600_000,
    imagesPerCycle: opts.imageCleanup?.imagesPerCycle ?? 5,
    log: opts.log,
  });

  const logs = new LogServer({ runtime: opts.runtime, state: () => engine.state, send: (c) => opts.link.publishResponse(c), log: opts.log });

  const exec = new ExecServer({ runtime: opts.runtime, state: () => engine.state, send: (c) => opts.link.publishResponse(c), log: opts.log });

  const stats = new StatsSampler({
    runtime: opts.runtime,
    tasks: () => Object.values(engine.state.tasks),
    send: (m) => opts.link.publishStats?.(m) ?? false,
    intervalMs: opts.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
    log: opts.log,
  });

  return {
    engine,
    logs,
    exec,
    images,
    prefetcher,
    pulls,
    stats,
    updateFacts(next) {
      facts = next;
      factsSent = false;
      scheduleReport();
    },
    updateHealth(next) {
      health = next;
      healthSent = false;
      scheduleReport();
    },
    reportSoon: () => scheduleReport(),
    async start() {
      engine.start();
      images.start();
      stats.start();
      leaseTimer = setInterval(() => logs.expireLeases(), 30_000);
      if (resyncEvery > 0) resyncTimer = setTimeout(resync, Math.random() * resyncEvery);
      await opts.link.start({
        onDesired: (d) => {
          opts.metrics?.desiredReceived(d.generation);
          if (engine.applyDesired(d)) opts.log?.info({ generation: d.generation }, `applied desired generation ${d.generation} (${d.tasks.length} tasks)`);
          // The control's limit (the instance's flotilla.max-concurrent-pulls attribute), else the flag's.
          if (prefetcher.take(d.generation, d.prefetch ?? [])) {
            pulls.setLimit(d.maxConcurrentPulls ?? opts.maxConcurrentPulls ?? DEFAULT_MAX_CONCURRENT_PULLS);
            // The control's cap (flotilla.max-pull-bytes-per-second), else the flag's; pulls in flight follow it from their next chunk.
            opts.pullBandwidth?.setRate(d.maxPullBytesPerSecond ?? opts.maxPullBytesPerSecond);
          }
        },
        onDiscovery: (set) => {
          opts.discovery?.apply(set);
        },
        onConnected: () => {
          opts.metrics?.linkUp();
          factsSent = false;
          healthSent = false;
          eventsSince = 0;
          opts.upgrader?.connected();
          scheduleReport();
        },
        onDisconnected: () => {
          opts.metrics?.linkDown();
          logs.cancelAll();
          void exec.cancelAll();
        },
        onRequest: (req) => {
          if (req.kind === "upgrade") return void opts.upgrader?.handle(req);
          if (req.kind === "exec") return void exec.serve(req);
          if (req.kind === "exec-input") return exec.input(req);
          if (req.kind === "cancel") {
            exec.cancel(req.requestId);
            return logs.cancel(req.requestId);
          }
          if (req.kind === "keepalive") return logs.keepalive(req.requestIds);
          if (req.kind === "credit") {
            exec.credit(req.requestId, req.pieces);
            return logs.credit(req.requestId, req.pieces);
          }
          void logs.serve(req);
        },
      });
    },
    async stop() {
      clearTimeout(reportTimer);
      clearInterval(leaseTimer);
      clearTimeout(resyncTimer);
      logs.cancelAll();
      // Docker keeps running an exec nobody kills: end them before the agent goes.
      await exec.cancelAll("the agent is stopping");
      await images.stop();
      await stats.stop();
      await engine.stop();
      opts.discovery?.flush();
      if (opts.link.connected) sendReport();
      await opts.link.stop();
    },
  };
}
