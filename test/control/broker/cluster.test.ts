import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import { MqttAgentLink } from "../../../agent/link/mqtt-link.ts";
import { registerInstance } from "../../../agent/link/register.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import type { Identity } from "../../../agent/store/identity.ts";
import type { HostFacts, Report } from "../../../shared/messages.ts";
import { topics } from "../../../shared/topics.ts";
import { brokerAddress } from "../../../shared/broker-address.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { activation } from "../../helpers/fleet.ts";
import { startRedis, type Redis } from "../../helpers/redis.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The clustered embedded broker (control/broker/cluster.ts): three control processes' worth of
 * control services (HA, one libSQL file), each with its own aedes node, sharing messages and state
 * through one Redis. Agents are real in-process agents (createAgent, MqttAgentLink on the hollow
 * runtime) and raw MQTT clients with real instance credentials.
 */
const C = "clustered";
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const facts = (hostname: string): HostFacts => ({ hostname, resources: { cpu: 2048, memory: 4096 }, attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" }, versionInfo: { agentVersion: "t", dockerVersion: "t" } });

let redis: Redis;
let dir: string;
const nodes: TestControl[] = [];
let act: { activationId: string; activationCode: string };
const agents: Agent[] = [];
const clients: mqtt.MqttClient[] = [];

/** Who applied which of an instance's reports: (node index, seq) from each control's "report applied" lines. */
function appliedReports(instanceId: string): { node: number; seq: number }[] {
  return nodes.flatMap((n, node) => n.logEntries().filter((e) => e.msg === "report applied" && e.instanceId === instanceId).map((e) => ({ node, seq: e.seq as number })));
}

async function reportsAppliedTotal(n: TestControl): Promise<number> {
  return (await n.control.metrics.reportsApplied.get()).values.reduce((s, v) => s + v.value, 0);
}

function connectAs(identity: Identity, url: string, clientId = identity.instanceId): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync({ ...brokerAddress(url), clientId, username: identity.username, password: identity.password, reconnectPeriod: 0, clean: true }).then((c) => {
    clients.push(c);
    return c;
  });
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "flotilla-broker-cluster-"));
  // One after the other: the first start creates the schema.
  for (const id of ["n1", "n2", "n3"]) {
    nodes.push(await startTestControl({ dir, extra: { ha: { holderId: id, leaseTtlMs: 2000 }, broker: { host: "127.0.0.1", port: 0, clusterUrl: redis.url } } }));
  }
  act = await activation(nodes[0]!, C, 10);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const a of agents) await a.stop();
  for (const n of nodes) await n.stop();
  rmSync(dir, { recursive: true, force: true });
  await redis?.stop();
}, 60_000);

/** StartTask through a node's API: one task of "app" on that instance. */
async function startOn(node: TestControl, instanceId: string): Promise<string> {
  // A process's placement index learns of an instance another process registered or saw connect
  // within its reload interval (10 s; control/scheduling/index-cache.ts): until then StartTask
  // there answers MISSING or AGENT, so wait for it to be taken.
  return waitFor(`StartTask on ${instanceId}`, async () => {
    const r = await node.api("POST", `/v1/clusters/${C}/tasks/start`, { taskDefinition: "app", containerInstances: [instanceId] });
    if (r.status === 201) return r.body.tasks[0].taskId as string;
    if (!["MISSING", "AGENT"].includes(r.body.failures?.[0]?.reason)) throw new Error(`StartTask failed: ${JSON.stringify(r.body)}`);
    return undefined;
  }, { timeoutMs: 15_000, intervalMs: 250 });
}

let registeredOnly: Identity;

async function hollowAgent(name: string, urls: string[]): Promise<{ agent: Agent; identity: Identity; sent: () => number }> {
  // Registered through node 1, the node whose API the tests use.
  const identity = await registerInstance(nodes[0]!.control.mqttUrl, { id: act.activationId, code: act.activationCode }, facts(name));
  let epoch = 0;
  let sent = 0;
  const link = new MqttAgentLink({ url: urls, identity, nextEpoch: () => (epoch = Math.max(Date.now(), epoch + 1)), backoff: { initialMs: 50, maxMs: 500 } });
  // Every report the agent handed to a live connection (the ones that must be applied once).
  const publish = link.publishReport.bind(link);
  link.publishReport = (r: Report) => {
    const ok = publish(r);
    if (ok) sent++;
    return ok;
  };
  const runtime = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
  const agent = createAgent({ runtime, link, store: memoryStateStore(), instanceId: identity.instanceId, clusterName: C, facts: facts(name), imagePullBehavior: "prefer-cached", relistIntervalMs: 50, statsIntervalMs: 0, resyncIntervalMs: 0 });
  agents.push(agent);
  await agent.start();
  await waitFor(`${name} connected`, async () => (await nodes[0]!.api("GET", `/v1/clusters/${C}/container-instances/${identity.instanceId}`)).body?.containerInstance?.agentConnected);
  return { agent, identity, sent: () => sent };
}

describe("clustered embedded broker", () => {
  test("a registration on node 2 is handled by one control: one instance, one registration counted", async () => {
    const before = nodes.map((n) => n.control.link.stats.registrations);
    const identity = await registerInstance(nodes[1]!.control.mqttUrl, { id: act.activationId, code: act.activationCode }, facts("reg-once"));
    registeredOnly = identity;
    await waitFor("the registration to be counted", () => nodes.some((n, i) => n.control.link.stats.registrations > before[i]!));
    const counted = nodes.map((n, i) => n.control.link.stats.registrations - before[i]!);
    expect(counted).toEqual([0, 1, 0]);
    const list = (await nodes[2]!.api("GET", `/v1/clusters/${C}/container-instances`)).body.containerInstances as { ec2InstanceId?: string; containerInstanceId: string }[];
    expect(list.filter((i) => i.containerInstanceId === identity.instanceId)).toHaveLength(1);
    expect(list).toHaveLength(1);
  });

  test("a task run through node 1's API reaches the agent on node 2, and each of its reports is applied exactly once, by node 2's control", async () => {
    const { identity, sent } = await hollowAgent("on-node-2", [nodes[1]!.control.mqttUrl]);
    expect((await nodes[0]!.api("POST", "/v1/task-definitions", { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 32 }] })).status).toBe(201);
    const appliedBefore = await Promise.all(nodes.map(reportsAppliedTotal));
    const ids = [await startOn(nodes[0]!, identity.instanceId), await startOn(nodes[0]!, identity.instanceId), await startOn(nodes[0]!, identity.instanceId)];
    await waitFor("3 tasks RUNNING (as node 3 sees them)", async () => {
      const tasks = (await nodes[2]!.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks as { taskId: string; lastStatus: string }[];
      return ids.every((id) => tasks.find((t) => t.taskId === id)?.lastStatus === "RUNNING");
    });
    const stop = await nodes[2]!.api("POST", `/v1/clusters/${C}/tasks/${ids[0]}/stop`, {});
    expect(stop.status).toBe(200);
    await waitFor("the stopped task STOPPED", async () => (await nodes[0]!.api("GET", `/v1/clusters/${C}/tasks/${ids[0]}`)).body.task?.lastStatus === "STOPPED");
    await waitFor("every report sent applied", () => appliedReports(identity.instanceId).length >= sent());
    const applied = appliedReports(identity.instanceId);
    // Every report the agent sent was applied once, all by the control of the node it came in through.
    expect(applied.length).toBe(sent());
    expect(new Set(applied.map((a) => a.seq)).size).toBe(applied.length);
    expect(new Set(applied.map((a) => a.node))).toEqual(new Set([1]));
    // The apply's own counter agrees: only node 2's moved, by as many reports as were sent.
    const appliedAfter = await Promise.all(nodes.map(reportsAppliedTotal));
    expect(appliedAfter[0]).toBe(appliedBefore[0]!);
    expect(appliedAfter[2]).toBe(appliedBefore[2]!);
    expect(appliedAfter[1]! - appliedBefore[1]!).toBeGreaterThan(0);
  }, 30_000);

  test("retained state is there whichever node a client reaches: a desired set published through node 1, read on node 3", async () => {
    const id = registeredOnly.instanceId;
    // Through the agent's path: its credential, its presence message, then its desired topic.
    const first = await connectAs(registeredOnly, nodes[0]!.control.mqttUrl);
    await first.publishAsync(topics.presence(id), JSON.stringify({ connected: true, epoch: 1 }), { qos: 1, retain: true });
    await waitFor("connected", async () => (await nodes[2]!.api("GET", `/v1/clusters/${C}/container-instances/${id}`)).body?.containerInstance?.agentConnected);
    const taskId = await startOn(nodes[0]!, id);
    const desiredOn = async (url: string) => {
      const c = await connectAs(registeredOnly, url);
      const set = await new Promise<{ generation: number; tasks: { taskId: string }[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no desired set with ${taskId} on ${url}`)), 10_000);
        c.on("message", (topic, payload) => {
          const s = JSON.parse(payload.toString());
          if (topic === topics.desired(id) && s.tasks.some((t: { taskId: string }) => t.taskId === taskId)) {
            clearTimeout(timer);
            resolve(s);
          }
        });
        void c.subscribeAsync(topics.desired(id), { qos: 1 });
      });
      // A clean end: no last will, so the instance stays "connected" for the next read.
      await c.endAsync();
      return set;
    };
    await first.endAsync();
    const onNode1 = await desiredOn(nodes[0]!.control.mqttUrl);
    // A fresh session on another node gets the same retained set from Redis.
    const onNode3 = await desiredOn(nodes[2]!.control.mqttUrl);
    expect(onNode3.generation).toBe(onNode1.generation);
    expect(onNode3.tasks.map((t) => t.taskId)).toContain(taskId);
    await nodes[1]!.api("POST", `/v1/clusters/${C}/tasks/${taskId}/stop`, {});
  }, 30_000);

  test("per-agent ACLs hold on every node: an instance uses only its own topics", async () => {
    const mine = await registerInstance(nodes[0]!.control.mqttUrl, { id: act.activationId, code: act.activationCode }, facts("acl-a"));
    const other = await registerInstance(nodes[2]!.control.mqttUrl, { id: act.activationId, code: act.activationCode }, facts("acl-b"));
    for (const [i, node] of nodes.entries()) {
      // Its own credential under another client id: refused at CONNECT.
      const wrongId = await connectAs(mine, node.control.mqttUrl, other.instanceId).catch((e: Error) => e);
      expect(wrongId).toBeInstanceOf(Error);
      const c = await connectAs(mine, node.control.mqttUrl);
      // mqtt.js rejects a SUBACK with any refusal; the packet says which were refused.
      const suback = await c.subscribeAsync({ [topics.desired(other.instanceId)]: { qos: 1 }, [topics.desired(mine.instanceId)]: { qos: 1 }, [topics.allReports]: { qos: 1 } }).catch((e: { packet?: { granted: number[] } }) => e.packet);
      expect(suback && "granted" in suback ? suback.granted : suback).toEqual([128, 1, 128]);
      const refusedBefore = node.control.broker.stats.refusedPublishes;
      const appliedBefore = appliedReports(other.instanceId).length;
      // A forged report for the other instance: refused by this node, applied by no control.
      const forged: Report = { instanceId: other.instanceId, bootId: `forged-${i}`, seq: 1, generation: 0, sentAt: Date.now(), tasks: [] };
      // (The broker drops a client whose publish it refuses: a connection of its own, QoS 0.)
      const forger = await connectAs(mine, node.control.mqttUrl);
      forger.publish(topics.report(other.instanceId), JSON.stringify(forged), { qos: 0 });
      await waitFor(`node ${i + 1} to refuse the forged report`, () => node.control.broker.stats.refusedPublishes > refusedBefore);
      // Its own report goes through (and is applied once): the check passes what it should.
      const own: Report = { instanceId: mine.instanceId, bootId: `own-${i}`, seq: 1, generation: 0, sentAt: Date.now(), tasks: [] };
      const ownBefore = appliedReports(mine.instanceId).length;
      const honest = await connectAs(mine, node.control.mqttUrl);
      await honest.publishAsync(topics.report(mine.instanceId), JSON.stringify(own), { qos: 1 });
      await waitFor(`the own report via node ${i + 1} to be applied`, () => appliedReports(mine.instanceId).length > ownBefore);
      expect(appliedReports(mine.instanceId).filter((a) => a.seq === 1)).toHaveLength(i + 1);
      expect(appliedReports(other.instanceId).length).toBe(appliedBefore);
      await honest.endAsync();
    }
    // Each node's own control applied the report that came in through it.
    expect(appliedReports(mine.instanceId).map((a) => a.node).sort()).toEqual([0, 1, 2]);
  }, 30_000);

  test("an agent given every node's URL moves to the next when its node goes away, keeps its tasks, and its reports are applied once", async () => {
    // The first node in the list is node 3, which this test stops (it is not the leader: n1 started first).
    const urls = [nodes[2]!.control.mqttUrl, nodes[1]!.control.mqttUrl];
    const { identity, sent } = await hollowAgent("mover", urls);
    const taskId = await startOn(nodes[0]!, identity.instanceId);
    await waitFor("its task RUNNING", async () => (await nodes[0]!.api("GET", `/v1/clusters/${C}/tasks/${taskId}`)).body.task?.lastStatus === "RUNNING");
    expect(new Set(appliedReports(identity.instanceId).map((a) => a.node))).toEqual(new Set([2]));
    await nodes[2]!.stop();
    await waitFor("node 2's control to apply the agent's reports", () => appliedReports(identity.instanceId).some((a) => a.node === 1));
    await waitFor("connected again (as node 1 sees it)", async () => (await nodes[0]!.api("GET", `/v1/clusters/${C}/container-instances/${identity.instanceId}`)).body?.containerInstance?.agentConnected);
    // A new desired set reaches it on node 2: a second task, run through node 1's API.
    const secondId = await startOn(nodes[0]!, identity.instanceId);
    await waitFor("both tasks RUNNING", async () => {
      const tasks = (await nodes[0]!.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks as { taskId: string; lastStatus: string }[];
      return [taskId, secondId].every((id) => tasks.find((t) => t.taskId === id)?.lastStatus === "RUNNING");
    });
    await waitFor("every report sent applied", () => appliedReports(identity.instanceId).length >= sent());
    const applied = appliedReports(identity.instanceId);
    expect(new Set(applied.map((a) => `${a.seq}`)).size).toBe(applied.length);
    expect(applied.length).toBeLessThanOrEqual(sent());
  }, 30_000);
});
