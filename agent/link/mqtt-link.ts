import mqtt, { type MqttClient } from "mqtt";
import { decodeMessage, desiredStateSchema, type DesiredState, type Presence, type Report } from "../../shared/messages.ts";
import { topics } from "../../shared/topics.ts";
import type { Identity } from "../store/identity.ts";

export interface LinkHandlers {
  onDesired(state: DesiredState): void;
  /** A (re)connection is up: the agent sends its full known state. */
  onConnected(): void;
}

/** The agent's connection to the control plane, as the engine sees it. */
export interface AgentLink {
  start(handlers: LinkHandlers): Promise<void>;
  /** Sends a report if connected; false when offline (the next onConnected resends everything). */
  publishReport(report: Report): boolean;
  readonly connected: boolean;
  stop(): Promise<void>;
}

export interface MqttLinkOptions {
  url: string;
  identity: Identity;
  /** Returns a connection epoch greater than any used before (persisted by the agent). */
  nextEpoch: () => number;
  keepaliveSeconds?: number;
  connectOptions?: mqtt.IClientOptions;
  log?: (line: string) => void;
  /** Called when the broker refuses our credentials (deregistered or revoked). */
  onRefused?: () => void;
}

/**
 * MQTT link with a retained presence flag and a last will that clears it. Each connection gets a
 * fresh, rising epoch (also written into the will) so the control service can tell a stale
 * "offline" from an old connection apart from the current one.
 */
export class MqttAgentLink implements AgentLink {
  private client?: MqttClient;
  private epoch = 0;

  constructor(private opts: MqttLinkOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private will(): mqtt.IClientOptions["will"] {
    const payload: Presence = { connected: false, epoch: this.epoch };
    return { topic: topics.presence(this.opts.identity.instanceId), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true };
  }

  async start(handlers: LinkHandlers): Promise<void> {
    const { identity } = this.opts;
    const log = this.opts.log ?? (() => {});
    this.epoch = this.opts.nextEpoch();
    const client = mqtt.connect(this.opts.url, {
      ...this.opts.connectOptions,
      clientId: identity.instanceId,
      username: identity.username,
      password: identity.password,
      clean: true,
      keepalive: this.opts.keepaliveSeconds ?? 10,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: this.will(),
    });
    this.client = client;
    client.on("connect", () => {
      const presence: Presence = { connected: true, epoch: this.epoch };
      client.publish(topics.presence(identity.instanceId), JSON.stringify(presence), { qos: 1, retain: true });
      client.subscribe(topics.desired(identity.instanceId), { qos: 1 });
      log(`[agent] connected to ${this.opts.url} as ${identity.instanceId}`);
      handlers.onConnected();
    });
    client.on("close", () => {
      // The next connection needs a newer epoch, in its will too.
      this.epoch = this.opts.nextEpoch();
      client.options.will = this.will();
    });
    client.on("error", (e) => {
      const code = (e as { code?: number }).code;
      if (code === 4 || code === 5) this.opts.onRefused?.();
      else log(`[agent] link error: ${e.message}`);
    });
    client.on("message", (topic, payload) => {
      if (topic !== topics.desired(identity.instanceId)) return;
      const state = decodeMessage(desiredStateSchema, payload);
      if (!state || state.instanceId !== identity.instanceId) {
        log("[agent] dropped a malformed desired state message");
        return;
      }
      handlers.onDesired(state);
    });
  }

  publishReport(report: Report): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(topics.report(this.opts.identity.instanceId), JSON.stringify(report), { qos: 1 });
    return true;
  }

  async stop(): Promise<void> {
    if (!this.client) return;
    // A clean disconnect does not fire the will, so say we are going.
    const presence: Presence = { connected: false, epoch: this.epoch };
    if (this.client.connected) {
      await this.client
        .publishAsync(topics.presence(this.opts.identity.instanceId), JSON.stringify(presence), { qos: 1, retain: true })
        .catch(() => undefined);
    }
    await this.client.endAsync().catch(() => undefined);
  }
}
