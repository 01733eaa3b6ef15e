import mqtt, { type MqttClient } from "mqtt";
import { randomUUID } from "node:crypto";

const CONTROL_TOPIC = "$CONTROL/dynamic-security/v1";
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;

export type DynsecCommand = { command: string } & Record<string, unknown>;

export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic-security ${command} failed: ${reason}`);
  }
}

/**
 * A client of Mosquitto's dynamic-security plugin: JSON commands on its control topic, answers on
 * the response topic matched by correlationData. Needs a client with the plugin's admin role.
 */
export class DynsecClient {
  private waiting = new Map<string, { resolve: (err?: string) => void; command: string }>();

  private constructor(private client: MqttClient) {
    client.on("message", (topic, payload) => {
      if (topic !== RESPONSE_TOPIC) return;
      let body: { responses?: Array<{ command?: string; error?: string; correlationData?: string }> };
      try {
        body = JSON.parse(payload.toString());
      } catch {
        return;
      }
      for (const r of body.responses ?? []) {
        const w = r.correlationData ? this.waiting.get(r.correlationData) : undefined;
        if (!w) continue;
        this.waiting.delete(r.correlationData!);
        w.resolve(r.error);
      }
    });
  }

  static async connect(url: string, username: string, password: string, options: mqtt.IClientOptions = {}): Promise<DynsecClient> {
    const client = await mqtt.connectAsync(url, {
      ...options,
      clientId: `flotilla-dynsec-${process.pid}-${randomUUID().slice(0, 8)}`,
      username,
      password,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 });
    return new DynsecClient(client);
  }

  /** Runs one command; resolves on success, throws DynsecError with the plugin's reason. */
  async run(cmd: DynsecCommand, timeoutMs = 10_000): Promise<void> {
    const correlationData = randomUUID();
    const answer = new Promise<string | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationData);
        reject(new DynsecError(cmd.command, "no answer from the broker"));
      }, timeoutMs);
      this.waiting.set(correlationData, {
        command: cmd.command,
        resolve: (err) => {
          clearTimeout(timer);
          resolve(err);
        },
      });
    });
    await this.client.publishAsync(CONTROL_TOPIC, JSON.stringify({ commands: [{ ...cmd, correlationData }] }), { qos: 1 });
    const err = await answer;
    if (err) throw new DynsecError(cmd.command, err);
  }

  /** Like run, but an "already exists" / "not found" answer counts as done (idempotent setup). */
  async ensure(cmd: DynsecCommand): Promise<void> {
    try {
      await this.run(cmd);
    } catch (e) {
      if (e instanceof DynsecError && /already exists|not found|already/i.test(e.reason)) return;
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync().catch(() => undefined);
  }
}
