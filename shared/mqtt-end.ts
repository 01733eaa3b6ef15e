import type { MqttClient } from "mqtt";

/**
 * Ends an MQTT client within about `graceMs`. mqtt.js's graceful end stops reconnecting, waits
 * without a limit for its unacknowledged QoS 1 publishes, then sends DISCONNECT and waits for the
 * broker to close the connection; with a broker that is gone, frozen or partitioned away a
 * stopping process would never exit. Here in-flight publishes get the grace to be acknowledged
 * (the client may reconnect meanwhile), the clean end gets what is left of it (at least
 * CLEAN_END_MS), and past that the connection is cut. Resolves true for a clean disconnect with
 * everything acknowledged, false when something was cut off.
 */
export async function endWithin(client: MqttClient, graceMs: number): Promise<boolean> {
  const deadline = performance.now() + graceMs;
  let clean = Object.keys(client.outgoing).length === 0;
  if (!clean && graceMs > 0) clean = await acknowledgedWithin(client, graceMs);
  const ended = client.endAsync(!clean).catch(() => undefined);
  if (await settledWithin(ended, Math.max(CLEAN_END_MS, deadline - performance.now()))) return clean;
  client.stream?.destroy();
  await settledWithin(ended, CLEAN_END_MS);
  return false;
}

const CLEAN_END_MS = 500;

/** Polls: mqtt.js announces an empty outgoing store only once it is already disconnecting. */
async function acknowledgedWithin(client: MqttClient, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (Object.keys(client.outgoing).length > 0) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Whether `work` settled within `ms` (it is not stopped when it did not). */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
