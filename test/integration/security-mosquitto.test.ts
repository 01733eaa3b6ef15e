import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { RegistrationRefused, registerInstance } from "../../agent/link/register.ts";
import { loadIdentity } from "../../agent/store/identity.ts";
import { topics } from "../../shared/topics.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { activation, startRegisteredAgent } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { startControlWith } from "../control/security/control-with.ts";
import { startMosquitto, type Mosquitto } from "../control/security/mosquitto.ts";

const FACTS = { hostname: "intruder", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } };

let mq: Mosquitto;
let tc: TestControl;
let victim: { agent: AgentProcess; instanceId: string };
let intruder: Awaited<ReturnType<typeof registerInstance>>;

async function instance(id: string) {
  return (await tc.api("GET", `/v1/clusters/mq/container-instances/${id}`)).body.containerInstance;
}

async function grantedQos(c: mqtt.MqttClient, topic: string): Promise<number> {
  try {
    return (await c.subscribeAsync(topic, { qos: 1 }))[0]!.qos;
  } catch (e) {
    return (e as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1;
  }
}

beforeAll(async () => {
  mq = await startMosquitto();
  tc = await startControlWith({ externalBroker: { url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword } });
  victim = await startRegisteredAgent(tc, "mq");
  const act = await activation(tc, "mq", 1);
  intruder = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS);
}, 60_000);
afterAll(async () => {
  await victim?.agent.stop();
  await tc?.stop();
  await mq?.stop();
});

describe("external Mosquitto with dynamic security: the same rights as the embedded broker", () => {
  test("agents register and connect through Mosquitto", async () => {
    expect(tc.control.mqttUrl).toBe(mq.url);
    expect((await instance(victim.instanceId)).agentConnected).toBe(true);
  });

  test("an agent publishing to or subscribing on another instance's topics changes nothing", async () => {
    const c = await mqtt.connectAsync(mq.url, { clientId: intruder.instanceId, username: intruder.username, password: intruder.password, reconnectPeriod: 0 });
    // MQTT 3.1.1: Mosquitto acknowledges and drops a refused publish.
    await c.publishAsync(topics.presence(victim.instanceId), JSON.stringify({ connected: false, epoch: 9e15 }), { qos: 1, retain: true });
    await c.publishAsync(topics.report(victim.instanceId), JSON.stringify({ instanceId: victim.instanceId, bootId: "x", seq: 1, generation: 0, sentAt: 0, tasks: [] }), { qos: 1 });
    expect(await grantedQos(c, topics.desired(victim.instanceId))).toBe(128);
    expect(await grantedQos(c, "flotilla/#")).toBe(128);
    expect(await grantedQos(c, topics.desired(intruder.instanceId))).toBe(1);
    await c.publishAsync(topics.presence(intruder.instanceId), JSON.stringify({ connected: true, epoch: 1 }), { qos: 1 });
    await waitFor("the intruder's own presence", async () => (await instance(intruder.instanceId)).agentConnected === true);
    expect((await instance(victim.instanceId)).agentConnected).toBe(true);
    await c.endAsync();
  }, 20_000);

  test("another instance's client id cannot be used", async () => {
    const err = await mqtt
      .connectAsync(mq.url, { clientId: victim.instanceId, username: intruder.username, password: intruder.password, reconnectPeriod: 0 })
      .then(() => null, (e) => e);
    expect(err?.code).toBe(5);
  });

  test("used-up and revoked activations are refused", async () => {
    const used = await activation(tc, "mq", 1);
    await registerInstance(mq.url, { id: used.activationId, code: used.activationCode }, FACTS);
    expect(await registerInstance(mq.url, { id: used.activationId, code: used.activationCode }, FACTS).catch((e) => e)).toBeInstanceOf(RegistrationRefused);
    // Used up: its Mosquitto client is gone, so the login itself is refused.
    await waitFor("the used-up activation's Mosquitto login to be removed", async () => {
      const login = await mqtt
        .connectAsync(mq.url, { clientId: `reg-${used.activationId}`, username: `activation:${used.activationId}`, password: used.activationCode, reconnectPeriod: 0 })
        .then((c) => (c.end(true), null), (e) => e);
      return login?.code === 5;
    }, { timeoutMs: 15_000 });
    const revoked = await activation(tc, "mq", 5);
    expect((await tc.api("DELETE", `/v1/clusters/mq/activations/${revoked.activationId}`)).status).toBe(200);
    expect(await registerInstance(mq.url, { id: revoked.activationId, code: revoked.activationCode }, FACTS).catch((e) => e)).toBeInstanceOf(RegistrationRefused);
  }, 20_000);

  test("deregistration drops the agent at once and it cannot come back", async () => {
    expect((await tc.api("DELETE", `/v1/clusters/mq/container-instances/${victim.instanceId}`)).status).toBe(200);
    const code = await Promise.race([victim.agent.exited, Bun.sleep(15_000).then(() => "still running")]);
    expect(code).not.toBe("still running");
    expect(code).not.toBe(0);
    expect(victim.agent.output()).toContain("refused this instance's credentials");
    const id = loadIdentity(victim.agent.dataDir)!;
    const err = await mqtt.connectAsync(mq.url, { clientId: id.instanceId, username: id.username, password: id.password, reconnectPeriod: 0 }).then(() => null, (e) => e);
    expect(err?.code).toBe(5);
  }, 30_000);
});
