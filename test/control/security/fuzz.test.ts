import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { randomBytes } from "node:crypto";
import { registerInstance } from "../../../agent/link/register.ts";
import { topics } from "../../../shared/topics.ts";
import { TEST_TOKEN, type TestControl } from "../../helpers/control.ts";
import { activation } from "../../helpers/fleet.ts";
import { waitFor } from "../../helpers/wait.ts";
import { startControlWith } from "./control-with.ts";
import { hostileBody, mutate, rng } from "./fuzz-input.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const API_CASES = 6_000;
const OWN_MQTT_CASES = 4_000;
const FOREIGN_MQTT_CASES = 150;

const FACTS = { hostname: "fuzz", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } };

let tc: TestControl;
let me: Awaited<ReturnType<typeof registerInstance>>;
let victim: Awaited<ReturnType<typeof registerInstance>>;

beforeAll(async () => {
  tc = await startControlWith({ masterKey: randomBytes(32) });
  const act = await activation(tc, "fuzz", 2);
  me = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, FACTS);
  victim = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, { ...FACTS, hostname: "victim" });
  await tc.api("POST", "/v1/task-definitions", { family: "fz", containerDefinitions: [{ name: "c", image: "busybox", memory: 16 }] });
}, 30_000);
afterAll(() => tc?.stop());

async function victimRow() {
  const r = (await tc.api("GET", `/v1/clusters/fuzz/container-instances/${victim.instanceId}`)).body.containerInstance;
  return { status: r.status, agentConnected: r.agentConnected, runningTasksCount: r.runningTasksCount, pendingTasksCount: r.pendingTasksCount };
}

describe("fuzz", () => {
  test(`${API_CASES} hostile API bodies and ${OWN_MQTT_CASES + FOREIGN_MQTT_CASES} hostile MQTT payloads leave a working service and an intact database`, async () => {
    const r = rng(SEED);
    const victimBefore = await victimRow();

    // ---- API, in-process through the real Hono app (same code path as HTTP, without sockets) ----
    const seeds = [
      { clusterName: "fuzz" },
      { name: "t", role: "operator" },
      { name: "s", value: "v" },
      { taskDefinition: "fz", count: 1 },
      { registrationLimit: 1, expiresInSeconds: 3600 },
      { allowPrivileged: false, allowedHostPaths: ["/srv"], allowedCapabilities: ["NET_ADMIN"] },
      { family: "fz", containerDefinitions: [{ name: "c", image: "busybox", memory: 16, portMappings: [{ containerPort: 80 }], secrets: [{ name: "A", valueFrom: "s" }] }] },
      { attributes: [{ name: "a", value: "b", targetId: me.instanceId }] },
      { reason: "because" },
      { name: "w", schedule: "0 2 * * *", durationMinutes: 60, timeZone: "Europe/Berlin", filter: "attribute:site == a" },
      { filter: "attribute:site == a", durationMinutes: 5, reason: "r" },
    ];
    const routes: Array<[string, string]> = [
      ["POST", "/v1/clusters"],
      ["DELETE", "/v1/clusters/fuzz-x"],
      ["POST", "/v1/clusters/fuzz/activations"],
      ["DELETE", "/v1/clusters/fuzz/activations/nope"],
      ["PUT", "/v1/clusters/fuzz/policy"],
      ["POST", "/v1/clusters/fuzz/tasks"],
      ["POST", "/v1/clusters/fuzz/tasks/nope/stop"],
      ["GET", "/v1/clusters/fuzz/tasks?desiredStatus=%00&family=__proto__"],
      ["PUT", "/v1/clusters/fuzz/attributes"],
      ["POST", "/v1/task-definitions"],
      ["POST", "/v1/tokens"],
      ["POST", "/v1/secrets"],
      ["GET", "/v1/audit?limit=abc"],
      ["DELETE", "/v1/tokens/%2e%2e"],
      ["POST", "/v1/clusters/fuzz/deployment-windows"],
      ["POST", "/v1/clusters/fuzz/deployment-windows/override"],
    ];
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < API_CASES; i++) {
      const [method, path] = r.pick(routes);
      const body = method === "GET" || method === "DELETE" ? undefined : hostileBody(r, seeds);
      const res = await tc.control.api.request(path, { method, body, headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = await res.text();
      if (res.status >= 500) serverErrors.push(`${method} ${path} ${body?.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`);
      expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack traces
    }
    const t1 = performance.now();
    expect(serverErrors).toEqual([]);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(API_CASES / 4);

    // ---- MQTT, as an authenticated agent: its own topics ----
    const own = [topics.report(me.instanceId), topics.presence(me.instanceId), topics.responses(me.instanceId)];
    const mqttSeeds = [
      { instanceId: me.instanceId, bootId: "b", seq: 1, generation: 0, sentAt: 1, tasks: [{ taskId: "t", knownStatus: "RUNNING", containers: [{ name: "c", image: "i", status: "RUNNING" }] }] },
      { connected: true, epoch: 5 },
      { requestId: "r", seq: 0, data: "x", done: false },
    ];
    const c = await mqtt.connectAsync(tc.control.mqttUrl, { clientId: me.instanceId, username: me.username, password: me.password, reconnectPeriod: 0 });
    for (let i = 0; i < OWN_MQTT_CASES; i++) {
      const k = r.int(10);
      const payload = k < 7 ? JSON.stringify(mutate(r, r.pick(mqttSeeds))) : hostileBody(r, mqttSeeds);
      c.publish(r.pick(own), payload, { qos: r.pick([0, 1] as const) });
    }
    // Our own final presence, QoS 1, after everything: when it is applied, the rest was handled.
    await c.publishAsync(topics.presence(me.instanceId), JSON.stringify({ connected: true, epoch: 9e12 }), { qos: 1 });
    await c.endAsync();

    // ---- and other instances' topics (each refusal costs the connection) ----
    const foreign = [topics.report(victim.instanceId), topics.presence(victim.instanceId), topics.desired(victim.instanceId), "flotilla/register/reg-x/reply", "$SYS/x", "#"];
    const refusedBefore = tc.control.broker.stats.refusedPublishes;
    let aclRefusals = 0;
    for (let i = 0; i < FOREIGN_MQTT_CASES; i++) {
      const topic = r.pick(foreign);
      // "#" and "$SYS/..." are refused before the ACL (invalid publish topic / broker-reserved).
      if (topic.startsWith("flotilla/")) aclRefusals++;
      const f = await mqtt.connectAsync(tc.control.mqttUrl, { clientId: me.instanceId, username: me.username, password: me.password, reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => f.once("close", () => resolve()));
      f.publish(topic, JSON.stringify(mutate(r, r.pick(mqttSeeds))), { qos: 0, retain: r.next() < 0.5 });
      await closed;
    }
    expect(tc.control.broker.stats.refusedPublishes - refusedBefore).toBeGreaterThanOrEqual(aclRefusals);

    const t2 = performance.now();
    console.log(JSON.stringify({ fuzz: { seed: SEED, apiMs: Math.round(t1 - t0), mqttMs: Math.round(t2 - t1), statuses: Object.fromEntries(statuses) } }));
    // ---- the service still answers, nobody else changed, the database is intact ----
    await waitFor("the control to process the flood", async () => {
      const row = (await tc.api("GET", `/v1/clusters/fuzz/container-instances/${me.instanceId}`)).body.containerInstance;
      return row?.agentConnected === true;
    }, { timeoutMs: 30_000 });
    const health = await fetch(tc.control.httpUrl + "/healthz");
    expect(health.status).toBe(200);
    expect((await tc.api("GET", "/v1/clusters")).status).toBe(200);
    expect(await victimRow()).toEqual(victimBefore);
    const stats = tc.control.link.stats;
    expect(stats.malformed + stats.staleReports).toBeGreaterThan(100);
    const check = await tc.db.client.execute("PRAGMA integrity_check");
    expect(check.rows[0]![0]).toBe("ok");
  }, 120_000);
});
