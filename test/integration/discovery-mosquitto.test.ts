import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { registerInstance } from "../../agent/link/register.ts";
import { discoverySetSchema } from "../../shared/discovery.ts";
import { topics } from "../../shared/topics.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { dataOf, queryUdp } from "../helpers/dns.ts";
import { activation, startRegisteredAgent } from "../helpers/fleet.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import { startControlWith } from "../control/security/control-with.ts";
import { startMosquitto, type Mosquitto } from "../control/security/mosquitto.ts";

/**
 * Discovery records over the external Mosquitto broker (dynamic security): an instance reads its
 * own cluster's retained set (through the cluster's shared role, control/broker/external.ts) and
 * no other cluster's; a real agent there gets the set, keeps it on disk and answers from it.
 */
const C = "mqdisc";
const OTHER = "mqdisc-other";
const FACTS = { hostname: "raw", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } };

let mq: Mosquitto;
let tc: TestControl;
let host: { agent: AgentProcess; instanceId: string };
let raw: Awaited<ReturnType<typeof registerInstance>>;

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
  // Its responder on a free port of 127.0.0.1 (not 53: containers keep Docker's DNS, the agent still answers).
  host = await startRegisteredAgent(tc, C, ["--dns-listen", "127.0.0.1:0", "--attribute", "role=web"]);
  const act = await activation(tc, C, 1);
  raw = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS);
  await activation(tc, OTHER, 1);
}, 60_000);

afterAll(async () => {
  await releaseFileResources();
  await mq?.stop();
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("service discovery over Mosquitto", () => {
  test("an instance may read its own cluster's discovery topic, not another cluster's", async () => {
    const c = await mqtt.connectAsync(mq.url, { clientId: raw.instanceId, username: raw.username, password: raw.password, reconnectPeriod: 0 });
    const got: { topic: string; body: string }[] = [];
    c.on("message", (topic, payload) => got.push({ topic, body: payload.toString() }));
    expect(await grantedQos(c, topics.clusterDiscovery(OTHER))).toBe(128);
    expect(await grantedQos(c, "flotilla/c/+/discovery")).toBe(128);
    expect(await grantedQos(c, topics.clusterDiscovery(C))).toBe(1);
    // The retained set the control published for the cluster is delivered.
    const message = await waitFor("the cluster's retained discovery set", async () => got.find((m) => m.topic === topics.clusterDiscovery(C)));
    expect(discoverySetSchema.parse(JSON.parse(message.body)).clusterName).toBe(C);
    expect(got.every((m) => m.topic === topics.clusterDiscovery(C))).toBe(true);
    await c.endAsync();
  }, 20_000);

  test("a real agent on Mosquitto gets its cluster's records, stores them and answers from them", async () => {
    expect((await tc.api("POST", "/v1/task-definitions", {
      family: "mqdisc-web",
      containerDefinitions: [
        {
          name: "web",
          image: "flotilla/busybox:test",
          memory: 32,
          essential: true,
          stopTimeout: 2,
          portMappings: [{ name: "http", containerPort: 80, hostPort: 0, protocol: "tcp" }],
          command: ["sh", "-c", "mkdir -p /www && exec httpd -f -p 80 -h /www"],
        },
      ],
    })).status).toBe(201);
    // Only the agent can run it (the raw instance never reports).
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "mqdisc-web",
      desiredCount: 1,
      placementConstraints: [{ type: "memberOf", expression: "attribute:role == web" }],
    });
    expect(res.status).toBe(201);
    await waitServiceSteady(tc, C, "web", 1, { timeoutMs: 40_000 });
    const [task] = await serviceTasks(tc, C, "web");
    const hostPort = task.containers[0].networkBindings[0].hostPort as number;
    const taskId = (task.taskArn as string).split("/").pop()!;
    // The control's view of what hosts answer...
    const view = (await tc.api("GET", `/v1/clusters/${C}/discovery`)).body;
    expect(view.services.map((s: { name: string }) => s.name)).toEqual(["web"]);
    // ...reached the agent through Mosquitto: its responder answers the SRV query with the task's host port.
    const m = host.agent.output().match(/discovery DNS on ([\d.]+):(\d+)/);
    expect(m).not.toBeNull();
    const dns = { address: m![1]!, port: Number(m![2]) };
    const srv = await waitFor("the agent's SRV answer for the task", async () => {
      const answers = dataOf(await queryUdp(dns, `_http._tcp.web.${C}.flotilla`, "SRV"), "SRV") as { port: number; target: string }[];
      return answers.length === 1 ? answers[0] : undefined;
    }, { timeoutMs: 20_000 });
    expect(srv.port).toBe(hostPort);
    expect(srv.target).toBe(`${taskId}.web.${C}.flotilla`);
    // And its store file holds the set (what it answers from after a restart).
    const stored = JSON.parse(readFileSync(join(host.agent.dataDir, "discovery.json"), "utf8"));
    const set = discoverySetSchema.parse(stored.set);
    expect(set.clusterName).toBe(C);
    expect(set.services.map((s) => s.name)).toEqual(["web"]);
  }, 90_000);
});
