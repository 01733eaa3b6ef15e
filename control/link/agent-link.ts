import mqtt, { type MqttClient } from "mqtt";
import { decodeMessage, presenceSchema, registerRequestSchema, reportSchema, type RegisterReply } from "../../shared/messages.ts";
import { instanceIdFromTopic, registerClientIdFromTopic, topics } from "../../shared/topics.ts";
import { arn } from "../../shared/arn.ts";
import { z } from "zod";
import type { OpsContext } from "../ops/context.ts";
import { nextDesiredState } from "../ops/desired.ts";
import { applyPresence, registerContainerInstance } from "../ops/instances.ts";
import { applyReport } from "../ops/reports.ts";

export interface AgentLinkOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  log?: (line: string) => void;
}

export interface LinkStats {
  reports: number;
  staleReports: number;
  malformed: number;
  foreignTasks: number;
  registrations: number;
  desiredPublished: number;
}

const registerPayload = registerRequestSchema.extend({
  activationId: z.string().min(1).max(64),
  activationCode: z.string().min(1).max(256),
});

/**
 * The control service's side of the agent link, as an ordinary MQTT client, so it works the same
 * against the embedded broker and an external one. It consumes registrations, presence and
 * reports, and publishes each instance's desired set (retained) after changes, coalesced.
 */
export class AgentLink {
  readonly stats: LinkStats = { reports: 0, staleReports: 0, malformed: 0, foreignTasks: 0, registrations: 0, desiredPublished: 0 };
  private client!: MqttClient;
  private pending = new Set<string>();
  private flushing: Promise<void> | null = null;
  /** Last (bootId, seq) per instance: older reports from the same agent process are dropped. */
  private lastReport = new Map<string, { bootId: string; seq: number }>();
  private log: (line: string) => void;

  constructor(
    private ctx: OpsContext,
    private opts: AgentLinkOptions,
  ) {
    this.log = opts.log ?? (() => {});
  }

  async start(): Promise<void> {
    this.client = await mqtt.connectAsync(this.opts.url, {
      clientId: this.opts.clientId,
      username: this.opts.username,
      password: this.opts.password,
      clean: true,
      reconnectPeriod: 1000,
      keepalive: 30,
    });
    this.client.on("message", (topic, payload) => {
      this.onMessage(topic, payload).catch((e: Error) => this.log(`[link] error handling ${topic}: ${e.message}`));
    });
    await this.client.subscribeAsync({
      [topics.allRegisterRequests]: { qos: 1 },
      [topics.allPresence]: { qos: 1 },
      [topics.allReports]: { qos: 1 },
    });
  }

  async stop(): Promise<void> {
    await this.flushing;
    await this.client?.endAsync();
  }

  /** Marks an instance's desired set as changed; publishing happens once per burst. */
  desiredChanged(instanceId: string): void {
    this.pending.add(instanceId);
    if (!this.flushing) {
      this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    }
  }

  /** Publishes current desired state for the given instances without raising generations. */
  async republish(instanceIds: string[]): Promise<void> {
    for (const id of instanceIds) {
      const state = await nextDesiredState(this.ctx, id, false);
      if (state) await this.publishDesired(id, state);
    }
  }

  private async flush(): Promise<void> {
    while (this.pending.size) {
      const ids = [...this.pending];
      this.pending.clear();
      for (const id of ids) {
        const state = await nextDesiredState(this.ctx, id);
        if (state) await this.publishDesired(id, state);
      }
    }
    this.flushing = null;
  }

  private async publishDesired(id: string, state: unknown) {
    await this.client.publishAsync(topics.desired(id), JSON.stringify(state), { qos: 1, retain: true });
    this.stats.desiredPublished++;
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const regClient = registerClientIdFromTopic(topic);
    if (regClient !== null) return this.onRegister(regClient, payload);
    const instanceId = instanceIdFromTopic(topic);
    if (!instanceId) return;
    if (topic === topics.presence(instanceId)) {
      const p = decodeMessage(presenceSchema, payload);
      if (!p) return void this.stats.malformed++;
      if (await applyPresence(this.ctx, instanceId, p)) {
        this.log(`[link] instance ${instanceId} ${p.connected ? "connected" : "disconnected"}`);
      }
      return;
    }
    if (topic === topics.report(instanceId)) {
      const r = decodeMessage(reportSchema, payload);
      // The topic is the authority on who sent it (the broker ACL binds topics to credentials).
      if (!r || r.instanceId !== instanceId) return void this.stats.malformed++;
      const last = this.lastReport.get(instanceId);
      if (last && last.bootId === r.bootId && r.seq <= last.seq) return void this.stats.staleReports++;
      this.lastReport.set(instanceId, { bootId: r.bootId, seq: r.seq });
      this.stats.reports++;
      const outcome = await applyReport(this.ctx, instanceId, r);
      this.stats.foreignTasks += outcome.foreign;
    }
  }

  private async onRegister(clientId: string, payload: Buffer): Promise<void> {
    const req = decodeMessage(registerPayload, payload);
    let reply: RegisterReply;
    if (!req) {
      this.stats.malformed++;
      reply = { ok: false, error: "malformed registration request" };
    } else {
      const { activationId, activationCode, ...facts } = req;
      const reg = await registerContainerInstance(this.ctx, activationId, activationCode, facts);
      if (reg.ok) {
        this.stats.registrations++;
        this.log(`[link] registered container instance ${reg.instance.id} (${facts.hostname}) in cluster ${reg.instance.clusterName}`);
        reply = {
          ok: true,
          instanceId: reg.instance.id,
          containerInstanceArn: reg.instance.arn,
          clusterName: reg.instance.clusterName,
          clusterArn: arn.cluster(reg.instance.clusterName),
          username: reg.instance.id,
          password: reg.password,
        };
      } else {
        reply = { ok: false, error: reg.reason };
      }
    }
    await this.client.publishAsync(topics.registerReply(clientId), JSON.stringify(reply), { qos: 1 });
  }
}
