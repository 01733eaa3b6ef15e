import { ne } from "drizzle-orm";
import { websocket } from "hono/bun";
import { createApi } from "./api/app.ts";
import { ChangeBus } from "./change-bus.ts";
import { ContainerStatsStore, type ContainerStatsOptions } from "./container-stats.ts";
import { createConsole } from "./console/app.tsx";
import { CONTROL_USERNAME, isActivationUsername, type Principal } from "./broker/acl.ts";
import type { BrokerTls, EmbeddedBroker } from "./broker/embedded.ts";
import { CONTROL_SHARE_GROUP, type ExternalBrokerOptions } from "./broker/external.ts";
import { startBroker } from "./broker/start.ts";
import { startActivationCleanup } from "./broker/activation-cleanup.ts";
import type { AuthRateLimitOptions } from "./broker/auth-rate-limit.ts";
import { createSecretStore } from "./ops/secrets.ts";
import { createAccessKeyStore } from "./ops/access-keys.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Database } from "./db/open.ts";
import { containerInstances } from "./db/schema.ts";
import { newSecret, secretMatches, hashSecret } from "./ids.ts";
import { AgentLink } from "./link/agent-link.ts";
import { DiscoveryPublisher } from "./link/discovery-publisher.ts";
import { PlacementIndexCache } from "./scheduling/index-cache.ts";
import { PlacementStore } from "./scheduling/placement-store.ts";
import { checkActivation } from "./ops/activations.ts";
import { createSerializer, type OpsContext } from "./ops/context.ts";
import { prefetchActiveTaskPlatforms } from "./ops/task-definitions.ts";
import { ImagePlatforms } from "./scheduling/image-platforms.ts";
import { authenticateInstance, markAllDisconnected } from "./ops/instances.ts";
import { ensureAdminToken } from "./ops/tokens.ts";
import { ServiceScheduler } from "./services/scheduler.ts";
import { LeaderDuties } from "./leader/duties.ts";
import { LeaderElector, defaultHolderId } from "./leader/elector.ts";
import { fencedContext } from "./leader/fenced-context.ts";
import { ACTIVATION_USER_PREFIX } from "../shared/topics.ts";
import { DEFAULT_RETENTION, EventSignal, type EventRetention } from "./events/log.ts";
import { startEventRetention } from "./events/retention.ts";
import { DEFAULT_WEBHOOK_OPTIONS, type WebhookOptions } from "./events/webhook-options.ts";
import { startWebhookWorker } from "./events/webhook-worker.ts";
import { ControlMetrics } from "./metrics/control-metrics.ts";
import { registerFleetGauges } from "./metrics/fleet-gauges.ts";
import { startMetricsListener } from "./metrics/listener.ts";
import { createLogger, type Logger } from "../shared/log.ts";
import { agentReleaseStore, downloadTokenKey } from "./ops/agent-release-store.ts";
import { expireAgentUpdates } from "./ops/agent-updates.ts";
import { advanceAgentUpgrades } from "./ops/agent-upgrades.ts";
import { registerBuiltReleases } from "./ops/agent-releases.ts";
import type { KeyObject } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ControlOptions {
  db: Database;
  /**
   * Embedded aedes broker (default) listening on host:port; with tls it serves mqtts://. With
   * clusterUrl (redis://) it is one node of a broker cluster shared by several control processes.
   */
  broker?: { host: string; port: number; tls?: BrokerTls; rateLimit?: AuthRateLimitOptions; clusterUrl?: string };
  /** HTTPS when tls (PEM cert chain and key) is given. */
  http?: { host: string; port: number; tls?: { cert: string; key: string } };
  /** Mosquitto 2 with dynamic security instead of the embedded broker (`broker` is then unused). */
  externalBroker?: ExternalBrokerOptions;
  /** 32-byte key that encrypts secrets and access keys at rest; without it neither API works. */
  masterKey?: Buffer;
  clock?: Clock;
  /** Admin API token to accept; without one, the first start creates one and reports it. */
  adminToken?: string;
  /** Where the control service's lines go (shared/log.ts); default: JSON lines (pretty on a terminal) at info. */
  log?: Logger;
  /**
   * High availability: several control processes share one database and an external broker;
   * a lease in the database (control/leader) picks the one that runs the reconcilers, whose
   * writes are fenced by it. Needs `externalBroker` (MQTT shared subscriptions) or a clustered
   * embedded broker (`broker.clusterUrl`: node-local delivery, control/broker/node-local.ts).
   */
  ha?: { holderId?: string; leaseTtlMs?: number };
  /** Change notifications (what the web console's live pages hear); one is made when not given. */
  changes?: ChangeBus;
  /** How many container stats readings to keep and for how long (control/container-stats.ts). */
  containerStats?: ContainerStatsOptions;
  /** The event log's retention (count and age), pruned by a leader duty every intervalMs. */
  eventRetention?: Partial<EventRetention & { intervalMs: number }>;
  /** Webhook delivery (timeouts, backoff, allow-list); see docs/events.md. */
  webhooks?: Partial<WebhookOptions>;
  /** A token-less GET /metrics listener (docs/metrics.md); absent: none (the API's /metrics still serves). */
  metricsListen?: { host: string; port: number };
  /** Service discovery sets: republished unchanged every refreshMs (docs/discovery.md). */
  discovery?: { refreshMs?: number };
  /** Agent releases: where binaries are kept, the keys they must be signed with (docs/agent-upgrades.md); absent: none trusted, kept in a temp dir. */
  releases?: { dir: string; publicKeys: KeyObject[]; publicUrl?: string; upgradeStepMs?: number; distDir?: string };
}

export interface Control {
  ctx: OpsContext;
  api: ReturnType<typeof createApi>;
  httpUrl: string;
  mqttUrl: string;
  /** Set when this start created the admin token: show it once. */
  createdAdminToken?: string;
  link: AgentLink;
  broker: EmbeddedBroker;
  /** This control's change notifications (instances, tasks, services). */
  changes: ChangeBus;
  /** The service scheduler's reconcile loop (control/services); under HA, the current term's. */
  scheduler: ServiceScheduler;
  /** Leader-only work; `elector` is set under HA (without HA this process always leads). */
  leader: { duties: LeaderDuties; elector?: LeaderElector; isLeader(): boolean };
  /** This control's Prometheus registry, and the token-less listener's URL when one was asked for. */
  metrics: ControlMetrics;
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Builds and starts the control service from its parts, so tests assemble real pieces. */
export async function createControl(opts: ControlOptions): Promise<Control> {
  const log = opts.log ?? createLogger({ component: "control" });
  const clock = opts.clock ?? systemClock;
  if (opts.ha && !opts.externalBroker && !opts.broker?.clusterUrl) throw new Error("HA needs the external broker (MQTT shared subscriptions) or a clustered embedded broker (broker.clusterUrl)");
  const holderId = opts.ha ? (opts.ha.holderId ?? defaultHolderId()) : undefined;
  let link: AgentLink | undefined;
  const placement = PlacementStore.open(opts.db);
  const changes = opts.changes ?? new ChangeBus();
  const ctx: OpsContext = {
    db: opts.db.db,
    clock,
    serialize: createSerializer(),
    desiredChanged: (id) => {
      link?.desiredChanged(id);
      changes.emit({ kind: "tasks", instanceId: id });
    },
    indexes: new PlacementIndexCache(placement, clock),
    placement,
    servicesChanged: () => {
      scheduler?.poke();
      changes.emit({ kind: "services" });
    },
    // One cache for every context of this control (the leader's fenced one is a copy of this).
    imagePlatforms: new ImagePlatforms(),
    changes,
    containerStats: new ContainerStatsStore(opts.containerStats),
    eventSignal: new EventSignal(),
    metrics: new ControlMetrics(),
  };
  const webhookOptions: WebhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS, ...opts.webhooks };
  let scheduler: ServiceScheduler | undefined;
  const { created } = await ensureAdminToken(ctx, opts.adminToken);

  // The control's own broker identity lives only as long as this process.
  const controlPassword = newSecret();
  const controlHash = hashSecret(controlPassword);
  const authenticate = async (username: string, password: string): Promise<Principal | null> => {
    if (username === CONTROL_USERNAME) return secretMatches(password, controlHash) ? { kind: "control" } : null;
    if (isActivationUsername(username)) {
      const activationId = username.slice(ACTIVATION_USER_PREFIX.length);
      const check = await checkActivation(ctx, activationId, password);
      return check.ok ? { kind: "activation", activationId } : null;
    }
    const inst = await authenticateInstance(ctx, username, password);
    return inst ? { kind: "instance", instanceId: inst.id, clusterName: inst.clusterName } : null;
  };

  const brokerAddr = opts.broker ?? { host: "127.0.0.1", port: 1883 };
  // Under HA every process has its own broker client: recreating a shared one would drop the others.
  // (On a clustered embedded broker each process's link logs into its own node, which knows only
  // its own process's secret: the plain name does; the client id below is unique cluster-wide.)
  const controlUsername = holderId && opts.externalBroker ? `${CONTROL_USERNAME}-${holderId}` : CONTROL_USERNAME;
  const running = await startBroker({ embedded: brokerAddr, external: opts.externalBroker, authenticate, controlPassword, controlUsername, log });
  const broker = running.handle;
  const cleanup = running.external ? startActivationCleanup(ctx, running.external, log) : undefined;
  const secrets = opts.masterKey ? createSecretStore(ctx, opts.masterKey) : undefined;
  const accessKeys = opts.masterKey ? createAccessKeyStore(ctx, opts.masterKey) : undefined;
  // The embedded broker starts empty: connection flags are rebuilt from agents' presence. Under HA
  // the broker outlives any one control process, so a joining process must not clear them.
  if (!opts.ha) await markAllDisconnected(ctx);

  link = new AgentLink(ctx, {
    url: broker.url,
    username: controlUsername,
    password: controlPassword,
    clientId: holderId ? `flotilla-control-${holderId}` : `flotilla-control-${process.pid}`,
    // Clustered embedded nodes have no shared subscriptions: each node hands its own process
    // only what was published on it (control/broker/node-local.ts).
    shareGroup: opts.ha && opts.externalBroker ? CONTROL_SHARE_GROUP : undefined,
    log,
    resolveSecrets: secrets ? (td) => secrets.resolveForTask(td) : undefined,
    connectOptions: running.linkConnectOptions,
    onRegistered: running.onRegistered && (async (id, password, activationId, clusterName) => {
      await running.onRegistered!(id, password, clusterName);
      cleanup?.afterRegistration(activationId);
    }),
  });
  await link.start();
  const live = await ctx.db.select({ id: containerInstances.id }).from(containerInstances).where(ne(containerInstances.status, "INACTIVE")).all();
  await link.republish(live.map((r) => r.id));

  const agentReleases = agentReleaseStore({
    dir: opts.releases?.dir ?? join(tmpdir(), `flotilla-agent-releases-${process.pid}`),
    keys: opts.releases?.publicKeys ?? [],
    publicUrl: opts.releases?.publicUrl,
    tokenKey: opts.masterKey ? downloadTokenKey(opts.masterKey) : undefined,
  });
  const builtAgents = opts.releases?.distDir ?? process.env.FLOTILLA_DIST_DIR ?? join(import.meta.dir, "..", "dist");
  for (const r of await registerBuiltReleases(ctx, agentReleases, builtAgents, (line) => log.warn(line))) {
    log.info(`agent release ${r.version} (${r.architecture}) offered from this build's ${builtAgents}`);
  }
  // Leader-only work. Under HA each term gets a fresh scheduler over a context whose writes are
  // fenced by the lease, so a deposed leader's late writes are refused by the database.
  const duties = new LeaderDuties(log);
  let elector: LeaderElector | undefined;
  const leaderCtx: OpsContext = opts.ha ? fencedContext(ctx, () => elector?.fence() ?? null) : ctx;
  scheduler = new ServiceScheduler(leaderCtx, { log });
  duties.add("services", (dutyCtx) => {
    if (opts.ha) scheduler = new ServiceScheduler(dutyCtx, { log });
    const s = scheduler!;
    s.start();
    return () => s.stop();
  });
  // One deliverer and one pruner per database: the leader's (every process is its own leader without HA).
  duties.add("webhooks", (dutyCtx) => startWebhookWorker(dutyCtx, webhookOptions, { log }));
  // One publisher of discovery sets: the leader. Under HA the reports a follower applies are not
  // heard on the leader's bus, so it also looks every second.
  duties.add("discovery", (dutyCtx) => {
    const publisher = new DiscoveryPublisher(dutyCtx, changes, { publish: (set) => link!.publishDiscovery(set), refreshMs: opts.discovery?.refreshMs, pollMs: opts.ha ? 1000 : 0, log });
    publisher.start();
    return () => publisher.stop();
  });
  duties.add("event-retention", (dutyCtx) => startEventRetention(dutyCtx, { ...DEFAULT_RETENTION, intervalMs: 60_000, ...opts.eventRetention }, log));
  // Rolling agent upgrades move one step a second, on the leader only (docs/agent-upgrades.md).
  duties.add("agent-upgrades", (dutyCtx) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || !link) return;
      busy = true;
      // Single updates (UpdateContainerAgent) that made no progress expire as FAILED here too.
      advanceAgentUpgrades(dutyCtx, agentReleases, link.sendRequest)
        .then(() => expireAgentUpdates(dutyCtx))
        .catch((e: Error) => log.warn(`agent upgrade step failed: ${e.message}`))
        .finally(() => (busy = false));
    }, opts.releases?.upgradeStepMs ?? 1000);
    return () => clearInterval(timer);
  });
  if (opts.ha) {
    // A new leader bumps every live instance's desired generation: each agent then sends a full
    // report, which recovers reports (and desired publishes) lost with a killed process.
    duties.add("resync-agents", async () => {
      const ids = await ctx.db.select({ id: containerInstances.id }).from(containerInstances).where(ne(containerInstances.status, "INACTIVE")).all();
      for (const { id } of ids) ctx.desiredChanged(id);
      return () => {};
    });
    elector = new LeaderElector({
      db: ctx.db,
      holderId,
      ttlMs: opts.ha.leaseTtlMs,
      clock,
      log,
      onElected: () => duties.start(leaderCtx),
      onDeposed: () => duties.stop(),
    });
    elector.start();
  } else await duties.start(ctx);

  // Ahead of need: the first RunTask after a restart finds its images' platforms looked up.
  void prefetchActiveTaskPlatforms(ctx).catch((e: Error) => log.warn(`image platform look-ups at start failed: ${e.message}`));

  // Deregistration: the credential is already wiped; drop the live session too.
  const instanceRevoked = async (id: string) => {
    await running.instanceRevoked(id);
    await link?.clearDesired(id);
  };
  const brokerProvisioning = running.external && {
    activationCreated: (id: string, code: string) => running.external!.activationCreated(id, code),
    activationGone: (id: string) => running.external!.activationGone(id),
  };
  const api = createApi(ctx, {
    agentReleases,
    agentRequests: () => link?.sendRequest,
    logRequests: () => link?.logRequests,
    execSessions: () => link?.execSessions,
    secrets,
    accessKeys,
    log,
    instanceRevoked,
    brokerProvisioning,
    webhookAllowHosts: webhookOptions.allowHosts,
  });
  // The web console: pages over the same operations, behind sessions opened with an API token.
  api.route(
    "/console",
    createConsole(ctx, {
      changes,
      agentReleases,
      agentRequests: () => link?.sendRequest,
      logRequests: () => link?.logRequests,
      log,
      brokerUrl: broker.url,
      instanceRevoked,
      brokerProvisioning,
    }),
  );
  const metrics = ctx.metrics!;
  registerFleetGauges(metrics, {
    db: ctx.db,
    commitQueueDepth: () => placement.queueDepth,
    isLeader: () => (elector ? elector.isLeader() : true),
    ha: opts.ha !== undefined,
    mqttConnections: broker.connectedClients,
    brokerRefusals: () => ({ ...broker.stats }),
    containerStats: ctx.containerStats,
  });
  const httpAddr = opts.http ?? { host: "127.0.0.1", port: 8080 };
  // Agent release uploads are ~100 MiB binaries (JSON routes keep their own 1 MiB limit).
  const server = Bun.serve({ hostname: httpAddr.host, port: httpAddr.port, fetch: api.fetch, maxRequestBodySize: 512 * 1024 * 1024, websocket: { ...websocket, maxPayloadLength: 1024 * 1024 }, ...(httpAddr.tls ? { tls: httpAddr.tls } : {}) });
  const host = httpAddr.host.includes(":") ? `[${httpAddr.host}]` : httpAddr.host;
  const metricsListener = opts.metricsListen ? startMetricsListener(metrics, opts.metricsListen) : undefined;

  return {
    ctx,
    api,
    httpUrl: `${httpAddr.tls ? "https" : "http"}://${host}:${server.port}`,
    mqttUrl: broker.url,
    createdAdminToken: created,
    link,
    broker,
    changes,
    get scheduler() {
      return scheduler!;
    },
    leader: { duties, elector, isLeader: () => (elector ? elector.isLeader() : true) },
    metrics,
    metricsUrl: metricsListener?.url,
    stop: async () => {
      await server.stop(true);
      await metricsListener?.stop();
      // Stops the leader-only work, then hands the lease over at once.
      await elector?.stop();
      await duties.stop();
      await link!.stop();
      cleanup?.stop();
      await broker.close();
      placement.close();
    },
  };
}

