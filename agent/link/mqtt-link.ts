import mqtt, { type MqttClient } from "mqtt";
import { agentRequestSchema, decodeMessage, desiredStateSchema, type DesiredState, type Presence, type Report, type ResponseChunk, type StatsMessage } from "../../shared/messages.ts";
import type { z } from "zod";
import { topics } from "../../shared/topics.ts";
import { discoverySetSchema, type DiscoverySet } from "../../shared/discovery.ts";
import type { Identity } from "../store/identity.ts";
import { brokerAddress } from "../../shared/broker-address.ts";
import { ReconnectBackoff, type BackoffOptions } from "./reconnect-backoff.ts";
import { endWithin } from "../../shared/mqtt-end.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface LinkHandlers {
  onDesired(state: DesiredState): void;
  /** The cluster's service discovery records (retained; the newest generation wins). */
  onDiscovery?(set: DiscoverySet): void;
  /** A (re)connection is up: the agent sends its full known state. */
  onConnected(): void;
  /** The connection dropped (requests in flight have nobody to answer to). */
  onDisconnected?(): void;
  /** An on-demand request from the control service (logs, cancel). */
  onRequest?(request: z.infer<typeof agentRequestSchema>): void;
}

/** Socket errors that mean no TCP connection was made, so no broker saw our CONNECT. */
const SOCKET_NEVER_OPENED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL"]);

/** The agent's connection to the control plane, as the engine sees it. */
export interface AgentLink {
  start(handlers: LinkHandlers): Promise<void>;
  /** Sends a report if connected; false when offline (the next onConnected resends everything). */
  publishReport(report: Report): boolean;
  /** Sends one piece of a response stream: false when offline, else resolves once the broker has it. */
  publishResponse(chunk: ResponseChunk): boolean | Promise<boolean>;
  /** Sends a container stats sample if connected (QoS 0: a lost one is replaced by the next). */
  publishStats?(message: StatsMessage): boolean;
  readonly connected: boolean;
  stop(): Promise<void>;
}

export interface MqttLinkOptions {
  /**
   * The broker, or the nodes of a clustered broker in the order to try them (--control a,b,c):
   * a lost node is left for the next in the list (reconnect-backoff.ts).
   */
  url: string | readonly string[];
  /** Waits between attempts (tests shorten or pin them). */
  backoff?: BackoffOptions;
  identity: Identity;
  /** Returns a connection epoch greater than any used before (persisted by the agent). */
  nextEpoch: () => number;
  keepaliveSeconds?: number;
  connectOptions?: mqtt.IClientOptions;
  log?: Logger;
  /** Called when the broker refuses our credentials (deregistered or revoked). */
  onRefused?: () => void;
  /**
   * Subscribe to the cluster's service discovery records: only an agent whose DNS responder or ingress proxy runs
   * needs them (each set is every serving task of the cluster, sent to every host that asks).
   */
  discovery?: boolean;
}

/**
 * MQTT link with a retained presence flag and a last will that clears it. Each connection gets a
 * fresh, rising epoch (also written into the will) so the control service can tell a stale
 * "offline" from an old connection apart from the current one.
 */
/** How long a stopping agent waits for the broker to acknowledge its offline presence. */
const STOP_PUBLISH_TIMEOUT_MS = 2000;

export class MqttAgentLink implements AgentLink {
  private client?: MqttClient;
  private epoch = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private stopping = false;
  private readonly urls: readonly string[];

  private readonly log: Logger;

  constructor(private opts: MqttLinkOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "link");
    this.urls = typeof opts.url === "string" ? [opts.url] : opts.url;
    if (!this.urls.length) throw new Error("no broker URL");
  }

  /** The broker URL of the current (or last) attempt. */
  private currentUrl(client: MqttClient): string {
    const { protocol, host, port } = client.options;
    return this.urls.find((u) => {
      const a = brokerAddress(u);
      return a.host === host && a.port === port && a.protocol === protocol;
    }) ?? this.urls[0]!;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private will(): mqtt.IClientOptions["will"] {
    const payload: Presence = { connected: false, epoch: this.epoch };
    return { topic: topics.presence(this.opts.identity.instanceId), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true };
  }

  async start(handlers: LinkHandlers): Promise<void> {
    const { identity } = this.opts;
    const log = this.log;
    this.epoch = this.opts.nextEpoch();
    const servers = this.urls.map(brokerAddress);
    const backoff = new ReconnectBackoff(this.opts.backoff);
    const client = mqtt.connect({
      ...servers[0]!,
      // mqtt.js takes each (re)connection to the next of these, in order, starting over after the last.
      ...(servers.length > 1 ? { servers } : {}),
      ...this.opts.connectOptions,
      clientId: identity.instanceId,
      username: identity.username,
      password: identity.password,
      clean: true,
      keepalive: this.opts.keepaliveSeconds ?? 10,
      // Reconnections are ours (below): mqtt.js only knows a fixed period.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: this.will(),
    });
    this.client = client;
    // An attempt that never reached a broker (refused, unreachable) cannot have left a will
    // behind, so it keeps the epoch: a long outage then costs neither a state-file write per
    // retry nor an epoch per second. Any other closed attempt may have, and takes a new one.
    let neverReachedBroker = false;
    let wasConnected = false;
    // The same error every second while the broker is down is said once, until it changes.
    let lastError = "";
    client.on("connect", () => {
      const presence: Presence = { connected: true, epoch: this.epoch };
      client.publish(topics.presence(identity.instanceId), JSON.stringify(presence), { qos: 1, retain: true });
      client.subscribe({
        [topics.desired(identity.instanceId)]: { qos: 1 },
        [topics.requests(identity.instanceId)]: { qos: 1 },
        ...(this.opts.discovery ? { [topics.clusterDiscovery(identity.clusterName)]: { qos: 1 } } : {}),
      });
      log.info(`connected to ${this.currentUrl(client)} as ${identity.instanceId}`);
      backoff.reset();
      wasConnected = true;
      lastError = "";
      handlers.onConnected();
    });
    client.on("close", () => {
      if (!neverReachedBroker) {
        // The next connection needs a newer epoch, in its will too.
        this.epoch = this.opts.nextEpoch();
        client.options.will = this.will();
      }
      neverReachedBroker = false;
      const delayMs = backoff.nextDelayMs();
      if (wasConnected) {
        wasConnected = false;
        log.warn(`disconnected from ${this.currentUrl(client)}; retrying${this.urls.length > 1 ? " the next broker" : ""} with backoff, tasks keep running`);
        handlers.onDisconnected?.();
      }
      // Fresh stores: a report not acknowledged by a lost node is not re-sent to the next one
      // (the new connection sends the full state anyway; docs/operations.md, exactly once).
      if (!this.stopping && !this.retryTimer) this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.stopping) client.reconnect();
      }, delayMs);
    });
    client.on("error", (e) => {
      const code = (e as { code?: number | string }).code;
      if (code === 4 || code === 5) return this.opts.onRefused?.();
      if (typeof code === "string" && SOCKET_NEVER_OPENED.has(code)) neverReachedBroker = true;
      if (e.message === lastError) return;
      lastError = e.message;
      log.warn(`link error: ${e.message}`);
    });
    client.on("message", (topic, payload) => {
      if (topic === topics.requests(identity.instanceId)) {
        const req = decodeMessage(agentRequestSchema, payload);
        if (!req) return log.warn("dropped a malformed request message");
        return handlers.onRequest?.(req);
      }
      if (topic === topics.clusterDiscovery(identity.clusterName)) {
        if (payload.length === 0) return; // an empty retained message clears the topic
        const set = decodeMessage(discoverySetSchema, payload);
        if (!set) return log.warn("dropped a malformed discovery message");
        return handlers.onDiscovery?.(set);
      }
      if (topic !== topics.desired(identity.instanceId)) return;
      const state = decodeMessage(desiredStateSchema, payload);
      if (!state || state.instanceId !== identity.instanceId) {
        log.warn("dropped a malformed desired state message");
        return;
      }
      // Secret values go to the engine as part of the desired task; its runners keep them in memory only.
      log.debug({ generation: state.generation, tasks: state.tasks.length }, "desired set received");
      handlers.onDesired(state);
    });
  }

  publishReport(report: Report): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(topics.report(this.opts.identity.instanceId), JSON.stringify(report), { qos: 1 });
    this.log.debug({ seq: report.seq, generation: report.generation, tasks: report.tasks.length }, "report sent");
    return true;
  }

  publishStats(message: StatsMessage): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(topics.stats(this.opts.identity.instanceId), JSON.stringify(message), { qos: 0 });
    return true;
  }

  publishResponse(chunk: ResponseChunk): boolean | Promise<boolean> {
    if (!this.client?.connected) return false;
    return this.client.publishAsync(topics.responses(this.opts.identity.instanceId), JSON.stringify(chunk), { qos: 1 }).then(
      () => true,
      () => false,
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.client) return;
    // A clean disconnect does not fire the will, so say we are going.
    const presence: Presence = { connected: false, epoch: this.epoch };
    if (this.client.connected) {
      // Bounded: if the broker is going away at the same moment (a host shutting down, quickstart's
      // Ctrl-C), the acknowledgement never comes and the agent must still exit.
      const sent = this.client
        .publishAsync(topics.presence(this.opts.identity.instanceId), JSON.stringify(presence), { qos: 1, retain: true })
        .then(() => true)
        .catch(() => false);
      const acknowledged = await Promise.race([sent, Bun.sleep(STOP_PUBLISH_TIMEOUT_MS).then(() => false)]);
      // Without the acknowledgement, end at once rather than wait for in-flight messages.
      await endWithin(this.client, acknowledged ? STOP_PUBLISH_TIMEOUT_MS : 0);
      return;
    }
    await endWithin(this.client, 0);
  }
}
