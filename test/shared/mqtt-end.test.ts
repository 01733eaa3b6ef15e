import { afterEach, describe, expect, test } from "bun:test";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import { createServer, type Server } from "node:net";
import { endWithin } from "../../shared/mqtt-end.ts";

/**
 * endWithin against a real broker (aedes on a free port): a clean end when everything was
 * acknowledged, and a bounded one when a publish never is (aedes holding it in authorizePublish,
 * as a stuck broker would).
 */
let closeBroker: () => Promise<void> = async () => {};
afterEach(() => closeBroker());

async function broker(holdPublishes: boolean): Promise<string> {
  const b = await Aedes.createBroker();
  if (holdPublishes) b.authorizePublish = () => {};
  const server: Server = createServer(b.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closeBroker = () =>
    new Promise<void>((resolve) => {
      // Closing the server alone waits for every connection; aedes closes them.
      b.close(() => server.close(() => resolve()));
    });
  return `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe("endWithin", () => {
  test("ends cleanly once in-flight publishes are acknowledged", async () => {
    const client = await mqtt.connectAsync(await broker(false), { reconnectPeriod: 0 });
    void client.publishAsync("t", "x", { qos: 1 }).catch(() => undefined);
    expect(await endWithin(client, 5_000)).toBe(true);
    expect(client.connected).toBe(false);
  });

  test("cuts the connection after the grace when a publish is never acknowledged", async () => {
    const client = await mqtt.connectAsync(await broker(true), { reconnectPeriod: 0 });
    void client.publishAsync("t", "x", { qos: 1 }).catch(() => undefined);
    expect(Object.keys(client.outgoing).length).toBe(1);
    expect(await endWithin(client, 300)).toBe(false);
    expect(client.connected).toBe(false);
  });
});
