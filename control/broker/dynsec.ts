import mqtt, { type MqttClient } from "mqtt";
import { randomUUID } from "node:crypto";
import { brokerAddress } from "../../shared/broker-address.ts";
import { endWithin } from "../../shared/mqtt-end.ts";

const CONTROL_TOPIC = "$CONTROL/dynamic-security/v1";
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;

export type DynsecCommand = { command: string } & Record<string, unknown>;

/**
 * Mosquitto 2.0's plugin rewrites its whole config file after every change, inside the broker's
 * single thread: a message of many commands would stall every client for seconds on a large fleet
 * (with 10,000 instances one save takes ~130 ms; a 100-command message stalled Mosquitto long
 * enough for agents' keepalives to fail). So a message carries one change (a registration's four
 * commands) at most, and only a couple are in flight; the rest wait here, not in the broker.
 */
const MAX_COMMANDS_PER_MESSAGE = 4;
const MAX_MESSAGES_IN_FLIGHT = 2;

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
  /** Sent commands awaiting their answer, by correlationData. */
  private waiting = new Map<string, { settle: (err?: string) => void }>();
  private queued: { cmd: DynsecCommand & { correlationData: string }; timeoutMs: number; settle: (err?: string) => void }[] = [];
  private inFlight = 0;
  private sendScheduled = false;

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
        w.settle(r.error);
      }
    });
  }

  static async connect(url: string, username: string, password: string, options: mqtt.IClientOptions = {}): Promise<DynsecClient> {
    const client = await mqtt.connectAsync({
      ...brokerAddress(url),
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

  /**
   * Runs one command; resolves on success, throws DynsecError with the plugin's reason (or when
   * the broker does not answer within timeoutMs of sending it). Commands issued in the same tick
   * travel together, in the order issued (which the plugin keeps), up to one change per message:
   * a registration's four commands cost one round trip.
   */
  async run(cmd: DynsecCommand, timeoutMs = 10_000): Promise<void> {
    const err = await new Promise<string | undefined>((settle) => {
      this.queued.push({ cmd: { ...cmd, correlationData: randomUUID() }, timeoutMs, settle });
      if (!this.sendScheduled) {
        this.sendScheduled = true;
        setImmediate(() => {
          this.sendScheduled = false;
          this.pump();
        });
      }
    });
    if (err) throw new DynsecError(cmd.command, err);
  }

  /** Sends queued commands while fewer than MAX_MESSAGES_IN_FLIGHT messages await answers. */
  private pump(): void {
    while (this.queued.length && this.inFlight < MAX_MESSAGES_IN_FLIGHT) {
      const batch = this.queued.splice(0, MAX_COMMANDS_PER_MESSAGE);
      this.inFlight++;
      let open = batch.length;
      const answered = () => {
        if (--open > 0) return;
        this.inFlight--;
        this.pump();
      };
      for (const q of batch) {
        const id = q.cmd.correlationData;
        const timer = setTimeout(() => {
          if (!this.waiting.delete(id)) return;
          q.settle("no answer from the broker");
          answered();
        }, q.timeoutMs);
        this.waiting.set(id, {
          settle: (err) => {
            clearTimeout(timer);
            q.settle(err);
            answered();
          },
        });
      }
      this.client.publishAsync(CONTROL_TOPIC, JSON.stringify({ commands: batch.map((q) => q.cmd) }), { qos: 1 }).catch((e: Error) => {
        // Not sent: fail those commands now rather than at their timeout.
        for (const q of batch) {
          const w = this.waiting.get(q.cmd.correlationData);
          this.waiting.delete(q.cmd.correlationData);
          w?.settle(`not sent: ${e.message}`);
        }
      });
    }
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
    // A command the broker never answered is not worth a hung shutdown.
    await endWithin(this.client, 2_000);
  }
}
