import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { DynsecClient, DynsecError } from "../../../control/broker/dynsec.ts";
import { clusterRole, ExternalBroker } from "../../../control/broker/external.ts";
import { topics } from "../../../shared/topics.ts";
import { startMosquitto, type Mosquitto } from "../security/mosquitto.ts";

/**
 * Dynamic-security commands issued together go out in one message (control/broker/dynsec.ts):
 * the plugin runs them in order and answers each, so a registration is one round trip.
 */
let mq: Mosquitto;
let dynsec: DynsecClient;

beforeAll(async () => {
  mq = await startMosquitto();
  dynsec = await DynsecClient.connect(mq.url, mq.adminUser, mq.adminPassword);
});

afterAll(async () => {
  await dynsec?.close();
  await mq?.stop();
});

describe("dynamic-security commands issued together", () => {
  test("run in the order issued, each answered on its own", async () => {
    const results = await Promise.allSettled([
      dynsec.run({ command: "createRole", rolename: "batch-role" }),
      // Needs the role created by the command before it in the same message.
      dynsec.run({ command: "createClient", username: "batch-user", password: "pw", roles: [{ rolename: "batch-role" }] }),
      dynsec.run({ command: "createClient", username: "batch-orphan", password: "pw", roles: [{ rolename: "no-such-role" }] }),
      dynsec.ensure({ command: "deleteClient", username: "never-existed" }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(DynsecError);
    expect(refused.message).toContain("createClient");
    const c = await mqtt.connectAsync(mq.url, { username: "batch-user", password: "pw", clientId: "batch-user", reconnectPeriod: 0 });
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  test("a burst of registrations is provisioned completely", async () => {
    const broker = await ExternalBroker.start({ url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword });
    const ids = Array.from({ length: 60 }, (_, i) => `burst${String(i).padStart(27, "0")}`);
    await Promise.all(ids.map((id) => broker.instanceRegistered(id, `pw-${id}`, "burst")));
    for (const id of [ids[0]!, ids[59]!]) {
      const c = await mqtt.connectAsync(mq.url, { username: id, password: `pw-${id}`, clientId: id, reconnectPeriod: 0 });
      const [granted] = await c.subscribeAsync(`flotilla/i/${id}/desired`, { qos: 1 });
      expect(granted!.qos).toBe(1);
      await c.endAsync();
    }
    // Registering the same id again replaces its client and role (client deleted first: see clientWithOwnRole).
    await broker.instanceRegistered(ids[0]!, "new-password", "burst");
    const again = await mqtt.connectAsync(mq.url, { username: ids[0], password: "new-password", clientId: ids[0], reconnectPeriod: 0 });
    expect(again.connected).toBe(true);
    // It keeps its cluster's shared role (discovery records), and no other cluster's.
    const [own] = await again.subscribeAsync(topics.clusterDiscovery("burst"), { qos: 1 });
    expect(own!.qos).toBe(1);
    const [other] = await again.subscribeAsync(topics.clusterDiscovery("other"), { qos: 1 }).catch((e) => e.packet.granted.map((qos: number) => ({ qos })));
    expect(other!.qos).toBe(128);
    await again.endAsync();
    await broker.instanceRevoked(ids[1]!);
    const gone = await mqtt.connectAsync(mq.url, { username: ids[1], password: `pw-${ids[1]}`, clientId: ids[1], reconnectPeriod: 0 }).catch((e) => e);
    expect(gone).toBeInstanceOf(Error);
    await broker.close();
  });

  test("a cluster role deleted by hand is created again by the next registration after the one it fails", async () => {
    const broker = await ExternalBroker.start({ url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword });
    const id = `gone${"0".repeat(28)}`;
    await broker.instanceRegistered(id, "pw1", "gone");
    // Its last instance gone, the role is deleted by hand (with a client still holding it,
    // Mosquitto 2.0.11 would crash: docs/security.md).
    await broker.instanceRevoked(id);
    await dynsec.run({ command: "deleteRole", rolename: clusterRole("gone") });
    const failed = await broker.instanceRegistered(id, "pw2", "gone").catch((e) => e);
    expect(failed).toBeInstanceOf(DynsecError);
    await broker.instanceRegistered(id, "pw3", "gone");
    const c = await mqtt.connectAsync(mq.url, { username: id, password: "pw3", clientId: id, reconnectPeriod: 0 });
    const [granted] = await c.subscribeAsync(topics.clusterDiscovery("gone"), { qos: 1 });
    expect(granted!.qos).toBe(1);
    await c.endAsync();
    await broker.close();
  });
});
