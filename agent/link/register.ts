import mqtt from "mqtt";
import { randomBytes } from "node:crypto";
import { decodeMessage, registerReplySchema, type HostFacts } from "../../shared/messages.ts";
import { ACTIVATION_USER_PREFIX, topics } from "../../shared/topics.ts";
import type { Identity } from "../store/identity.ts";
import { brokerAddress } from "../../shared/broker-address.ts";
import { endWithin } from "../../shared/mqtt-end.ts";

/** The control service refused the activation: retrying will not help. */
export class RegistrationRefused extends Error {}

const REPLY_TIMEOUT_MS = 30_000;

/**
 * Registers with an activation over MQTT. The broker admits activation credentials only to their
 * own registration topics, and the control service answers with the instance's own credentials.
 */
export async function registerInstance(
  url: string,
  activation: { id: string; code: string },
  facts: HostFacts,
  connectOptions: mqtt.IClientOptions = {},
  /** The cluster to join (--cluster): needed by an activation for any cluster, checked by others. */
  cluster?: string,
): Promise<Identity> {
  // One client id per activation (see control/broker/acl.ts); the nonce tells our reply from the
  // reply to another agent registering with the same activation at the same moment.
  const clientId = `reg-${activation.id}`;
  const nonce = randomBytes(12).toString("hex");
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync({
      ...brokerAddress(url),
      ...connectOptions,
      clientId,
      username: `${ACTIVATION_USER_PREFIX}${activation.id}`,
      password: activation.code,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 4 || code === 5) {
      throw new RegistrationRefused("activation id or code is wrong, expired, revoked or used up");
    }
    throw e;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const reply = new Promise<unknown>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("no registration reply from the control service")), REPLY_TIMEOUT_MS);
      client.on("message", (_topic, payload) => {
        const r = decodeMessage(registerReplySchema, payload);
        if (r?.nonce !== undefined && r.nonce !== nonce) return;
        resolve(r);
      });
      // A dropped connection (e.g. another registration took over the session) fails now, not in 30 s.
      client.on("close", () => reject(new Error("connection closed before the registration reply")));
    });
    // Nothing may be left to reject unobserved if subscribe or publish below throws first.
    reply.catch(() => undefined);
    await client.subscribeAsync(topics.registerReply(clientId), { qos: 1 });
    await client.publishAsync(
      topics.registerRequest(clientId),
      JSON.stringify({ ...facts, activationId: activation.id, activationCode: activation.code, nonce, ...(cluster ? { cluster } : {}) }),
      { qos: 1 },
    );
    const r = (await reply) as ReturnType<typeof decodeMessage<typeof registerReplySchema>>;
    if (!r) throw new Error("malformed registration reply");
    if (!r.ok) throw new RegistrationRefused(r.error);
    return {
      instanceId: r.instanceId,
      containerInstanceArn: r.containerInstanceArn,
      clusterName: r.clusterName,
      username: r.username,
      password: r.password,
    };
  } finally {
    clearTimeout(timer);
    await endWithin(client, 2_000);
  }
}
