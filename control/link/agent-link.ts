import mqtt, { type MqttClient } from "mqtt";
import { decodeMessage, presenceSchema, registerRequestSchema, reportSchema, responseChunkSchema, statsMessageSchema, type AgentRequest, type RegisterReply } from "../../shared/messages.ts";
import { LogRequests } from "./log-requests.ts";
import { ExecSessions } from "./exec-sessions.ts";
import { instanceIdFromTopic, registerClientIdFromTopic, topics } from "../../shared/topics.ts";
import { arn } from "../../shared/arn.ts";
import { z } from "zod";
import type { DesiredState } from "../../shared/messages.ts";
import type { DiscoverySet } from "../../shared/discovery.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import type { OpsContext } from "../ops/context.ts";
import { nextDesiredStates } from "../ops/desired.ts";
import { applyHealth, applyPresence, registerContainerInstance } from "../ops/instances.ts";
import { ReportBatcher } from "./report-batcher.ts";
import { latencyTrace, wallNow } from "../latency-trace.ts";
import { mqttMessageType } from "../metrics/mqtt-message-type.ts";
import { brokerAddress } from "../../shared/broker-address.ts";
import { endWithin, settledWithin } from "../../shared/mqtt-end.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface AgentLinkOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  log?: Logger;
  /** Extra MQTT options (TLS: ca, cert, key, rejectUnauthorized). */
  connectOptions?: mqtt.IClientOptions;
  /**
   * Plain secret values of a task definition by container and variable name. They ride only in
   * the instance's own desired-state topic, which the broker ACL lets no one else read.
   */
  resolveSecrets?: (td: TaskDefinitionSpec) => Promise<{
    env: Record<string, Record<string, string>>;
    /** repositoryCredentials by container name. */
    registry?: Record<string, { username: string; password: string }>;
    /** logConfiguration.secretOptions values by container and option name. */
    logOptions?: Record<string, Record<string, string>>;
    missing: string[];
  }>;
  /** Runs before a registration reply is sent (external broker: create the instance's client). */
  onRegistered?: (instanceId: string, password: string, activationId: string, clusterName: string) => Promise<void>;
  /** Largest agent payload acted on; larger ones are counted and dropped. */
  maxPayloadBytes?: number;
  /**
   * HA: several control processes share the work. Registrations and reports arrive through the
   * MQTT shared subscription `$share/{shareGroup}/...`, so each goes to one process. Presence and
   * log responses stay plain subscriptions: presence is retained (a shared subscription never
   * gets retained messages) and idempotent by epoch; a log response belongs to the process that
   * asked.
   */
  shareGroup?: string;
}

export interface LinkStats {
  reports: number;
  staleReports: number;
  malformed: number;
  oversized: number;
  failedHandling: number;
  foreignTasks: number;
  registrations: number;
  desiredPublished: number;
  /** Container stats samples applied. */
  statsSamples: number;
  /** Service discovery sets published (one per instance). */
  discoveryPublished: number;
}

/** Instances whose desired sets are built in one read and published together. */
const FLUSH_BATCH = 256;
/** How long a stopping control waits for pending work and for the broker to acknowledge it. */
const STOP_GRACE_MS = 5_000;

const registerPayload = registerRequestSchema.extend({
  activationId: z.string().min(1).max(64),
  activationCode: z.string().min(1).max(256),
  nonce: z.string().max(64).optional(),
  /** The agent's --cluster: where an activation for any cluster registers it (checked otherwise). */
  cluster: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/).optional(),
});

/**
 * The control service's side of the agent link, as an ordinary MQTT client, so it works the same
 * against the embedded broker and an external one. It consumes registrations, presence and
 * reports, and publishes each instance's desired set (retained) after changes, coalesced.
 */
export class AgentLink {
  readonly stats: LinkStats = { reports: 0, staleReports: 0, malformed: 0, oversized: 0, failedHandling: 0, foreignTasks: 0, registrations: 0, desiredPublished: 0, statsSamples: 0, discoveryPublished: 0 };
  private client!: MqttClient;
  private pending = new Set<string>();
  /** Benchmark trace only: when each pending instance was first marked changed. */
  private pendingSince = new Map<string, number>();
  private flushing: Promise<void> | null = null;
  /** Reports are applied in bursts (one set of statements for many agents' reports). */
  private reports: ReportBatcher;
  /** Last (bootId, seq) per instance: older reports from the same agent process are dropped. */
  private lastReport = new Map<string, { bootId: string; seq: number }>();
  private log: Logger;
  /** Log streams from agents over each instance's req/res topics. */
  readonly logRequests = new LogRequests({
    publish: async (instanceId, request) => {
      await this.client.publishAsync(topics.requests(instanceId), JSON.stringify(request), { qos: 1 });
    },
  });

  /** Exec sessions with agents over the same req/res topics. */
  readonly execSessions = new ExecSessions({
    publish: async (instanceId, request) => {
      await this.client.publishAsync(topics.requests(instanceId), JSON.stringify(request), { qos: 1 });
    },
  });

  /** Sends a request (an upgrade command) on an instance's own req topic. */
  readonly sendRequest = async (instanceId: string, request: AgentRequest): Promise<void> => {
    await this.client.publishAsync(topics.requests(instanceId), JSON.stringify(request), { qos: 1 });
  };

  constructor(
    private ctx: OpsContext,
    private opts: AgentLinkOptions,
  ) {
    this.log = withComponent(opts.log ?? silentLogger, "link");
    this.reports = new ReportBatcher(ctx);
  }

  async start(): Promise<void> {
    this.client = await mqtt.connectAsync({
      ...brokerAddress(this.opts.url),
      ...this.opts.connectOptions,
      clientId: this.opts.clientId,
      username: this.opts.username,
      password: this.opts.password,
      clean: true,
      reconnectPeriod: 1000,
      keepalive: 30,
    });
    const metrics = this.ctx.metrics;
    if (metrics) {
      // One place for both directions: whatever publishes, the client sends it as a packet.
      this.client.on("packetsend", (packet) => {
        const type = packet.cmd === "publish" ? mqttMessageType(packet.topic) : null;
        if (type) metrics.mqtt("out", type);
      });
    }
    this.client.on("message", (topic, payload) => {
      const receivedAt = latencyTrace.enabled ? wallNow() : 0;
      const type = metrics && mqttMessageType(topic);
      if (type) metrics!.mqtt("in", type);
      // Whatever an agent sends, a failure stays with that message: counted, logged, dropped.
      this.onMessage(topic, payload, receivedAt).catch((e: Error) => {
        this.stats.failedHandling++;
        this.log.error({ topic, instanceId: instanceIdFromTopic(topic) ?? undefined }, `error handling ${topic}: ${e.message}`);
      });
    });
    const shared = (filter: string) => (this.opts.shareGroup ? `$share/${this.opts.shareGroup}/${filter}` : filter);
    const granted = await this.client.subscribeAsync({
      [shared(topics.allRegisterRequests)]: { qos: 1 },
      [topics.allPresence]: { qos: 1 },
      [shared(topics.allReports)]: { qos: 1 },
      [topics.allResponses]: { qos: 1 },
      // Not shared under HA: every control process keeps every instance's recent stats itself.
      [topics.allStats]: { qos: 0 },
    });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length) throw new Error(`the broker refused the control's subscriptions: ${refused.join(", ")}`);
  }

  async stop(): Promise<void> {
    this.logRequests.closeAll();
    this.execSessions.closeAll();
    // Bounded: a broker that is gone or stuck never acknowledges, and a stopping control must still
    // exit. A desired set cut off here is in the database with its generation; the next control to
    // start (or be elected) republishes every live instance's set.
    const settled = await settledWithin(Promise.all([this.reports.idle(), this.flushing]), STOP_GRACE_MS);
    if (this.client) await endWithin(this.client, settled ? STOP_GRACE_MS : 0);
  }

  /** Marks an instance's desired set as changed; publishing happens once per burst. */
  desiredChanged(instanceId: string): void {
    if (latencyTrace.enabled && !this.pendingSince.has(instanceId)) this.pendingSince.set(instanceId, wallNow());
    this.pending.add(instanceId);
    if (!this.flushing) {
      this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    }
  }

  /** Publishes a cluster's service discovery set, retained (control/link/discovery-publisher.ts). */
  async publishDiscovery(set: DiscoverySet): Promise<void> {
    await this.client.publishAsync(topics.clusterDiscovery(set.clusterName), JSON.stringify(set), { qos: 1, retain: true });
    this.stats.discoveryPublished++;
  }

  /**
   * Removes a deregistered instance's retained desired set from the broker (it may hold secret
   * values; an empty retained message deletes it).
   */
  async clearDesired(instanceId: string): Promise<void> {
    await this.client.publishAsync(topics.desired(instanceId), "", { qos: 1, retain: true });
  }

  /**
   * Publishes current desired state for the given instances (at start) under new generations. A
   * process that died between committing a change and publishing it left the change in the
   * database under the generation the agent already holds; republished under that generation, the
   * agent would drop it as not newer and never learn of the change.
   */
  async republish(instanceIds: string[]): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += FLUSH_BATCH) {
      const states = await nextDesiredStates(this.ctx, instanceIds.slice(i, i + FLUSH_BATCH));
      await Promise.all([...states].map(([id, state]) => this.publishDesired(id, state)));
    }
  }

  /**
   * Publishes the pending instances' sets in batches: one serialized read for the whole batch,
   * then all its publishes in flight at once. One instance at a time (a queue turn and a broker
   * round trip each) published about 40 sets a second under load, so a 500-task scale-up waited
   * seconds for its desired sets. An instance changed again while its batch is out is simply in
   * the next batch, under a higher generation.
   */
  private async flush(): Promise<void> {
    try {
      await this.flushPending();
    } catch (e) {
      // A failed read or publish must not leave `flushing` set for ever (no set would go out again).
      this.log.error(`publishing desired sets failed: ${(e as Error).message}`);
    } finally {
      this.flushing = null;
    }
  }

  private async flushPending(): Promise<void> {
    while (this.pending.size) {
      const ids: string[] = [];
      for (const id of this.pending) {
        ids.push(id);
        if (ids.length >= FLUSH_BATCH) break;
      }
      const queuedAt = ids.map((id) => this.pendingSince.get(id));
      for (const id of ids) {
        this.pending.delete(id);
        this.pendingSince.delete(id);
      }
      const states = await nextDesiredStates(this.ctx, ids);
      const builtAt = latencyTrace.enabled ? wallNow() : 0;
      if (latencyTrace.enabled) latencyTrace.event("desiredBuilt", { instances: states.size, tasks: [...states.values()].reduce((n, s) => n + s.tasks.length, 0) });
      await Promise.all(
        ids.map(async (id, i) => {
          const state = states.get(id);
          if (!state) return;
          await this.publishDesired(id, state);
          if (latencyTrace.enabled) this.traceDesired(state, queuedAt[i], builtAt);
        }),
      );
    }
  }

  private traceDesired(state: DesiredState, queuedAt: number | undefined, builtAt: number): void {
    const publishedAt = wallNow();
    for (const t of state.tasks) {
      if (t.desiredStatus !== "RUNNING") continue;
      if (queuedAt) latencyTrace.mark(t.taskId, "queued", queuedAt);
      latencyTrace.mark(t.taskId, "built", builtAt);
      latencyTrace.mark(t.taskId, "published", publishedAt);
    }
  }

  private async publishDesired(id: string, state: DesiredState) {
    const withSecrets = await this.attachSecrets(state);
    await this.client.publishAsync(topics.desired(id), JSON.stringify(withSecrets), { qos: 1, retain: true });
    this.stats.desiredPublished++;
    this.log.debug({ instanceId: id, generation: state.generation, tasks: state.tasks.length }, "desired set published");
  }

  /** Adds secret values to tasks that should run; never logged, never stored on the control side. */
  private async attachSecrets(state: DesiredState): Promise<DesiredState> {
    const resolve = this.opts.resolveSecrets;
    if (!resolve) return state;
    const tasks = await Promise.all(
      state.tasks.map(async (t) => {
        const text = JSON.stringify(t.definition);
        if (t.desiredStatus !== "RUNNING" || !/"(secrets|repositoryCredentials|secretOptions)"/.test(text)) return t;
        // The revision as parsed once at registration (db/task-definition-revisions.ts), not again per task.
        const spec = (await taskDefinitionRevision(this.ctx.db, t.taskDefinitionArn))?.spec;
        if (!spec?.containerDefinitions.some((c) => c.secrets?.length || c.repositoryCredentials || c.logConfiguration?.secretOptions?.length)) return t;
        const { env, registry, logOptions, missing } = await resolve(spec);
        if (missing.length) this.log.warn({ taskId: t.taskId }, `task ${t.taskId}: secrets no longer exist: ${missing.join(", ")}`);
        const some = <T extends object>(r: T | undefined) => (r && Object.keys(r).length ? r : undefined);
        return { ...t, secrets: env, registryCredentials: some(registry), logSecretOptions: some(logOptions) };
      }),
    );
    return { ...state, tasks };
  }

  private dropped(kind: "malformed" | "oversized" | "staleReports", topic: string, payload: Buffer): void {
    this.stats[kind]++;
    // Counts say how much; the log line says who, without echoing the payload back.
    this.log.warn({ topic, instanceId: instanceIdFromTopic(topic) ?? undefined }, `dropped ${kind === "staleReports" ? "replayed or out-of-order" : kind} message on ${topic} (${payload.length} bytes)`);
  }

  private async onMessage(topic: string, payload: Buffer, receivedAt = 0): Promise<void> {
    if (payload.length > (this.opts.maxPayloadBytes ?? 1024 * 1024)) return this.dropped("oversized", topic, payload);
    const regClient = registerClientIdFromTopic(topic);
    if (regClient !== null) return this.onRegister(regClient, payload, topic);
    const instanceId = instanceIdFromTopic(topic);
    if (!instanceId) return;
    if (topic === topics.presence(instanceId)) {
      const p = decodeMessage(presenceSchema, payload);
      if (!p) return this.dropped("malformed", topic, payload);
      if (await applyPresence(this.ctx, instanceId, p)) {
        // Only a current "offline" ends streams: a stale will is about a replaced connection.
        if (!p.connected) {
          this.ctx.containerStats?.forgetInstance(instanceId);
          this.logRequests.instanceGone(instanceId);
          this.execSessions.instanceGone(instanceId);
        }
        this.ctx.servicesChanged?.();
        this.log.info({ instanceId }, `instance ${instanceId} ${p.connected ? "connected" : "disconnected"}`);
      }
      return;
    }
    if (topic === topics.responses(instanceId)) {
      const chunk = decodeMessage(responseChunkSchema, payload);
      if (!chunk) return this.dropped("malformed", topic, payload);
      this.execSessions.onResponse(instanceId, chunk);
      return this.logRequests.onResponse(instanceId, chunk);
    }
    if (topic === topics.stats(instanceId)) return this.onStats(instanceId, topic, payload);
    if (topic === topics.report(instanceId)) {
      const r = decodeMessage(reportSchema, payload);
      // The topic is the authority on who sent it (the broker ACL binds topics to credentials).
      if (!r || r.instanceId !== instanceId) return this.dropped("malformed", topic, payload);
      const last = this.lastReport.get(instanceId);
      if (last && last.bootId === r.bootId && r.seq <= last.seq) return this.dropped("staleReports", topic, payload);
      this.lastReport.set(instanceId, { bootId: r.bootId, seq: r.seq });
      this.stats.reports++;
      // Queued before anything is awaited, so one agent's reports apply in the order they came.
      const [outcome] = await Promise.all([this.reports.apply(instanceId, r), r.health ? applyHealth(this.ctx, instanceId, r.health) : undefined]);
      this.stats.foreignTasks += outcome.foreign;
      this.log.debug({ instanceId, seq: r.seq, generation: r.generation, tasks: r.tasks.length }, "report applied");
      if (latencyTrace.enabled) {
        const appliedAt = wallNow();
        latencyTrace.event("report", { instance: instanceId, tasks: r.tasks.length, receivedAt, applyMs: appliedAt - receivedAt });
        for (const t of r.tasks) {
          if (t.knownStatus === "STOPPED") latencyTrace.mark(t.taskId, "reportStopped", receivedAt);
          if (t.knownStatus !== "RUNNING") continue;
          latencyTrace.mark(t.taskId, "reportReceived", receivedAt);
          latencyTrace.mark(t.taskId, "reportApplied", appliedAt);
        }
      }
    }
  }

  /** A container stats sample: kept in memory only, nothing awaited, no database touched. */
  private onStats(instanceId: string, topic: string, payload: Buffer): void {
    const message = decodeMessage(statsMessageSchema, payload);
    if (!message) return this.dropped("malformed", topic, payload);
    this.ctx.containerStats?.apply(instanceId, message);
    this.stats.statsSamples++;
  }

  private async onRegister(clientId: string, payload: Buffer, topic: string): Promise<void> {
    const req = decodeMessage(registerPayload, payload);
    let reply: RegisterReply;
    if (!req) {
      this.dropped("malformed", topic, payload);
      reply = { ok: false, error: "malformed registration request" };
    } else {
      const { activationId, activationCode, nonce, cluster, ...facts } = req;
      const reg = await registerContainerInstance(this.ctx, activationId, activationCode, facts, cluster);
      if (reg.ok) {
        await this.opts.onRegistered?.(reg.instance.id, reg.password, activationId, reg.instance.clusterName);
        this.stats.registrations++;
        this.log.info({ cluster: reg.instance.clusterName, instanceId: reg.instance.id }, `registered container instance ${reg.instance.id} (${facts.hostname}) in cluster ${reg.instance.clusterName}`);
        reply = {
          ok: true,
          instanceId: reg.instance.id,
          containerInstanceArn: reg.instance.arn,
          clusterName: reg.instance.clusterName,
          clusterArn: arn.cluster(reg.instance.clusterName),
          username: reg.instance.id,
          password: reg.password,
          nonce,
        };
      } else {
        reply = { ok: false, error: reg.reason, nonce };
      }
    }
    await this.client.publishAsync(topics.registerReply(clientId), JSON.stringify(reply), { qos: 1 });
  }
}
