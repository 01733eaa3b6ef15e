import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { RegistrationRefused, registerInstance } from "../../agent/link/register.ts";
import { loadIdentity } from "../../agent/store/identity.ts";
import { activations } from "../../control/db/schema.ts";
import { topics } from "../../shared/topics.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { activation, startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { waitFor } from "../helpers/wait.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { eq } from "drizzle-orm";

const FACTS = {
  hostname: "intruder",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.os-type": "linux" },
  versionInfo: { agentVersion: "test", dockerVersion: "test" },
};

let tc: TestControl;
let victim: { agent: AgentProcess; instanceId: string };
let intruder: Awaited<ReturnType<typeof registerInstance>>;

type Creds = { clientId: string; username: string; password: string };

/** The SUBACK grant for one topic (128 = refused); mqtt.js rejects refused subscriptions. */
async function grantedQos(c: mqtt.MqttClient, topic: string): Promise<number> {
  try {
    return (await c.subscribeAsync(topic, { qos: 1 }))[0]!.qos;
  } catch (e) {
    return (e as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1;
  }
}

/** One publish on a fresh connection: aedes drops a client whose publish it refuses. */
async function publishOnce(creds: Creds, topic: string, payload: string | Buffer, retain = false): Promise<void> {
  const c = await mqtt.connectAsync(tc.control.mqttUrl, { ...creds, reconnectPeriod: 0 });
  const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
  c.publish(topic, payload, { qos: 0, retain });
  // A QoS 0 publish has no ack: close after it is flushed; a refused one closes by itself.
  await Promise.race([closed, Bun.sleep(200).then(() => c.endAsync())]);
  c.end(true);
}

const intruderCreds = (): Creds => ({ clientId: intruder.instanceId, username: intruder.username, password: intruder.password });

async function instance(id: string) {
  return (await tc.api("GET", `/v1/clusters/sec/container-instances/${id}`)).body.containerInstance;
}

beforeAll(async () => {
  tc = await startTestControl();
  victim = await startRegisteredAgent(tc, "sec");
  const act = await activation(tc, "sec", 1);
  intruder = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS);
}, 60_000);
afterAll(async () => {
  await victim?.agent.stop();
  if (victim) await removeInstanceContainers(victim.instanceId);
  await tc?.stop();
});

describe("embedded broker: an agent can affect only itself", () => {
  test("publishing to or subscribing on another instance's topics is refused and changes nothing", async () => {
    const refusedBefore = tc.control.broker.stats.refusedPublishes;
    // Try to mark the victim offline and to report its tasks; try to read its desired set (secrets).
    await publishOnce(intruderCreds(), topics.presence(victim.instanceId), JSON.stringify({ connected: false, epoch: 9e15 }), true);
    await publishOnce(intruderCreds(), topics.report(victim.instanceId), JSON.stringify({ instanceId: victim.instanceId, bootId: "x", seq: 1, generation: 0, sentAt: 0, tasks: [] }));
    await publishOnce(intruderCreds(), "flotilla/register/reg-x/reply", "{}");
    // Nor may it send container stats in the victim's name.
    await publishOnce(intruderCreds(), topics.stats(victim.instanceId), JSON.stringify({ at: 1, tasks: {} }));
    const c = await mqtt.connectAsync(tc.control.mqttUrl, { ...intruderCreds(), reconnectPeriod: 0 });
    expect(await grantedQos(c, topics.desired(victim.instanceId))).toBe(128);
    // Discovery records: its own cluster's it may read (every host of a cluster gets them), no other's.
    expect(await grantedQos(c, topics.clusterDiscovery("sec"))).toBe(1);
    expect(await grantedQos(c, topics.clusterDiscovery("other"))).toBe(128);
    expect(await grantedQos(c, "flotilla/c/+/discovery")).toBe(128);
    expect(await grantedQos(c, "flotilla/#")).toBe(128);
    // Our own presence is allowed; once the control has seen it, it has seen everything before it.
    await c.publishAsync(topics.presence(intruder.instanceId), JSON.stringify({ connected: true, epoch: 1 }), { qos: 1 });
    await waitFor("the intruder's own presence", async () => (await instance(intruder.instanceId)).agentConnected === true);
    expect((await instance(victim.instanceId)).agentConnected).toBe(true);
    expect(tc.control.broker.stats.refusedPublishes - refusedBefore).toBeGreaterThanOrEqual(4);
    expect(tc.control.link.stats.statsSamples).toBe(0);
    await c.endAsync();
  }, 20_000);

  test("another instance's client id cannot be taken over", async () => {
    const err = await mqtt
      .connectAsync(tc.control.mqttUrl, { clientId: victim.instanceId, username: intruder.username, password: intruder.password, reconnectPeriod: 0 })
      .then(() => null, (e) => e);
    expect(err?.code).toBe(5);
    expect((await instance(victim.instanceId)).agentConnected).toBe(true);
  });

  test("malformed, oversized and replayed messages are counted and dropped; the service keeps answering", async () => {
    const c = await mqtt.connectAsync(tc.control.mqttUrl, { ...intruderCreds(), reconnectPeriod: 0 });
    const stats = tc.control.link.stats;
    const before = { ...stats };
    const report = (seq: number) => JSON.stringify({ instanceId: intruder.instanceId, bootId: "b1", seq, generation: 0, sentAt: Date.now(), tasks: [] });
    await c.publishAsync(topics.report(intruder.instanceId), "{not json", { qos: 1 });
    await c.publishAsync(topics.report(intruder.instanceId), JSON.stringify({ instanceId: victim.instanceId, bootId: "b", seq: 1, generation: 0, sentAt: 0, tasks: [] }), { qos: 1 });
    await c.publishAsync(topics.presence(intruder.instanceId), JSON.stringify({ connected: "yes" }), { qos: 1 });
    await c.publishAsync(topics.report(intruder.instanceId), report(5), { qos: 1 });
    await c.publishAsync(topics.report(intruder.instanceId), report(5), { qos: 1 }); // replay
    await c.publishAsync(topics.report(intruder.instanceId), report(3), { qos: 1 }); // out of order
    await publishOnce(intruderCreds(), topics.report(intruder.instanceId), "x".repeat(2 * 1024 * 1024));
    await waitFor("the link to count them", () => stats.malformed - before.malformed >= 3 && stats.staleReports - before.staleReports >= 2);
    expect(tc.control.broker.stats.oversizedPublishes).toBeGreaterThanOrEqual(1);
    expect((await tc.api("GET", "/v1/clusters/sec")).status).toBe(200);
    expect((await instance(victim.instanceId)).agentConnected).toBe(true);
    await c.endAsync();
  }, 20_000);
});

describe("activations", () => {
  test("a used-up activation is refused", async () => {
    const act = await activation(tc, "sec", 1);
    await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS);
    const again = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS).catch((e) => e);
    expect(again).toBeInstanceOf(RegistrationRefused);
  });

  test("an expired activation is refused", async () => {
    const act = await activation(tc, "sec", 5);
    await tc.db.db.update(activations).set({ expiresAt: Date.now() - 1000 }).where(eq(activations.id, act.activationId));
    const err = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS).catch((e) => e);
    expect(err).toBeInstanceOf(RegistrationRefused);
  });

  test("a revoked activation is refused", async () => {
    const act = await activation(tc, "sec", 5);
    expect((await tc.api("DELETE", `/v1/clusters/sec/activations/${act.activationId}`)).status).toBe(200);
    const err = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS).catch((e) => e);
    expect(err).toBeInstanceOf(RegistrationRefused);
  });

  test("activation credentials cannot touch instance topics", async () => {
    const act = await activation(tc, "sec", 5);
    const c = await mqtt.connectAsync(tc.control.mqttUrl, {
      clientId: `reg-${act.activationId}`,
      username: `activation:${act.activationId}`,
      password: act.activationCode,
      reconnectPeriod: 0,
    });
    expect(await grantedQos(c, topics.desired(victim.instanceId))).toBe(128);
    const wrongId = await mqtt
      .connectAsync(tc.control.mqttUrl, { clientId: "reg-other", username: `activation:${act.activationId}`, password: act.activationCode, reconnectPeriod: 0 })
      .then(() => null, (e) => e);
    expect(wrongId?.code).toBe(5);
    await c.endAsync();
  });
});

const SLEEPER = {
  family: "sec-sleeper",
  containerDefinitions: [
    { name: "s", image: "flotilla/busybox:test", memory: 16, essential: true, stopTimeout: 2, command: ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done'] },
  ],
};

async function runSleeper(cluster: string): Promise<string> {
  await tc.api("POST", "/v1/task-definitions", SLEEPER);
  const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: "sec-sleeper" });
  expect(run.status).toBe(201);
  const taskId = run.body.tasks[0].taskArn.split("/").pop();
  await waitTaskStatus(tc, cluster, taskId, "RUNNING", 30_000);
  return taskId;
}

describe("deregistration", () => {
  test("drops the agent at once; it exits with a clear message, leaves its containers running and cannot come back", async () => {
    const taskId = await runSleeper("sec");
    const res = await tc.api("DELETE", `/v1/clusters/sec/container-instances/${victim.instanceId}`);
    expect(res.status).toBe(200);
    const code = await Promise.race([victim.agent.exited, Bun.sleep(15_000).then(() => "still running")]);
    expect(code).not.toBe(0);
    expect(code).not.toBe("still running");
    expect(victim.agent.output()).toContain("refused this instance's credentials");
    const id = loadIdentity(victim.agent.dataDir)!;
    const err = await mqtt.connectAsync(tc.control.mqttUrl, { clientId: id.instanceId, username: id.username, password: id.password, reconnectPeriod: 0 }).then(() => null, (e) => e);
    expect(err?.code).toBe(5);
    expect((await instance(victim.instanceId)).status).toBe("INACTIVE");
    // The workload is left alone; the control records the task STOPPED with the reason.
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toHaveLength(1);
    expect((await tc.api("GET", `/v1/clusters/sec/tasks/${taskId}`)).body.task.stoppedReason).toBe("Container instance was deregistered");
  }, 60_000);

  test("with --stop-containers-on-deregister the agent stops its containers before exiting", async () => {
    const flagged = await startRegisteredAgent(tc, "sec-stop", ["--stop-containers-on-deregister"]);
    try {
      const taskId = await runSleeper("sec-stop");
      expect((await tc.api("DELETE", `/v1/clusters/sec-stop/container-instances/${flagged.instanceId}`)).status).toBe(200);
      const code = await Promise.race([flagged.agent.exited, Bun.sleep(30_000).then(() => "still running")]);
      expect(code).not.toBe("still running");
      expect(flagged.agent.output()).toContain("stopped 1 container(s)");
      expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toHaveLength(0);
    } finally {
      await flagged.agent.stop();
      await removeInstanceContainers(flagged.instanceId);
    }
  }, 60_000);
});
