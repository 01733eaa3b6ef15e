import { servedByWeb } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { containerIntervals } from "../helpers/container-intervals.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { addHostAddress } from "../helpers/host-address.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { describeService, serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

/**
 * A rolling update under a constant request loop through the ingress loses no request (real
 * Docker, two real agents, each with an address of its own on lo for its proxy and endpoints):
 * the deregistration delay takes each old task out of the discovery set, so the proxies stop
 * sending it connections, before its agent is told to stop it. And from the recorded times: each
 * old task left discovery (deactivatingAt) before its stop was sent (stoppingAt, at least the
 * delay later) and before its container finished.
 */
const C = "ingress-roll";
const ADDRESSES = ["198.18.57.1", "198.18.57.2"];
const DELAY_SECONDS = 2;
const MAX_REQUESTS = 2000;
const MAX_LOOP_MS = 60_000;
let tc: TestControl;
let listenPort = 0;
const removals: (() => Promise<void>)[] = [];

const SLOW_HTTPD = [
  "mkdir -p /www/cgi-bin && echo served-by-$HOSTNAME > /www/index.html",
  `printf '#!/bin/sh\\nsleep 0.3\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nserved-by-slow\\\\n"\\n' > /www/cgi-bin/slow`,
  "chmod +x /www/cgi-bin/slow",
  "httpd -f -p 80 -h /www & pid=$!",
  "trap 'kill $pid; exit 0' TERM",
  "wait $pid",
].join("\n");
const WORKERS = 8;

const agentArgs = (i: number) => ["--ingress", ADDRESSES[i]!, "--advertise-address", ADDRESSES[i]!];

beforeAll(async () => {
  for (const address of ADDRESSES) removals.push(await addHostAddress(address));
  tc = await startTestControl();
  for (let i = 0; i < ADDRESSES.length; i++) await startRegisteredAgent(tc, C, agentArgs(i));
  // Two revisions of the same httpd task (an environment variable tells them apart), answering
  // /cgi-bin/slow after 0.3 s and exiting at once on SIGTERM, as a server that stops on its stop
  // signal does: a request in flight when its container stops is lost, so only a task taken out
  // of the proxies' targets before its stop can leave without failing requests.
  const base = servedByWeb("roll-web");
  const v1 = { ...base, containerDefinitions: [{ ...base.containerDefinitions[0]!, command: ["sh", "-c", SLOW_HTTPD] }] };
  const v2 = { ...v1, containerDefinitions: [{ ...v1.containerDefinitions[0]!, environment: [{ name: "REVISION", value: "2" }] }] };
  for (const td of [v1, v2]) expect((await tc.api("POST", "/v1/task-definitions", td)).status).toBe(201);
  listenPort = await freePort();
  const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "roll-web:1",
    desiredCount: 3,
    // One task at a time: one extra task above desired, none below.
    deploymentConfiguration: { maximumPercent: 134, minimumHealthyPercent: 100 },
    ingress: [{ containerPort: 80, listenPort, deregistrationDelaySeconds: DELAY_SECONDS }],
  });
  expect(res.body.error ?? res.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 3, { timeoutMs: 40_000 });
}, 120_000);

afterAll(async () => {
  await releaseFileResources();
  for (const remove of removals) await remove();
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

const taskIdOf = (t: { taskArn: string }) => t.taskArn.split("/").pop()!;

describe("ingress under a rolling update", () => {
  test("a constant request loop through the ingress port sees no failure while the service rolls to a new revision; each old task leaves discovery before its stop", async () => {
    await waitFor("the ingress to answer on both hosts", async () => {
      for (const a of ADDRESSES) {
        const r = await fetch(`http://${a}:${listenPort}/`, { headers: { connection: "close" }, signal: AbortSignal.timeout(3000) }).catch(() => undefined);
        if (!r?.ok) return false;
        await r.text();
      }
      return true;
    });
    const old = (await serviceTasks(tc, C, "web")).map(taskIdOf);
    expect(old).toHaveLength(3);

    // The loop: WORKERS clients, each one slow request at a time, alternating between the two
    // hosts' ingress ports, a new connection each, until the rollout is done (bounded in count
    // and time).
    let done = false;
    const failures: string[] = [];
    let sent = 0;
    const until = Date.now() + MAX_LOOP_MS;
    const worker = async () => {
      while (!done && sent < MAX_REQUESTS && Date.now() < until) {
        const address = ADDRESSES[sent++ % ADDRESSES.length]!;
        try {
          const r = await fetch(`http://${address}:${listenPort}/cgi-bin/slow`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5000) });
          const body = await r.text();
          if (!r.ok || !body.startsWith("served-by-")) failures.push(`${address}: HTTP ${r.status} ${body.slice(0, 80)}`);
        } catch (e) {
          failures.push(`${address}: ${(e as Error).message}`);
        }
      }
    };
    const loop = Promise.all(Array.from({ length: WORKERS }, worker));

    expect((await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "roll-web:2" })).status).toBe(200);
    await waitServiceSteady(tc, C, "web", 3, { revision: "roll-web:2", timeoutMs: 55_000 }).finally(() => {
      done = true;
    });
    await loop;
    expect(failures).toEqual([]);
    console.log(`ingress rolling update: ${sent} requests, ${failures.length} failed`);
    expect(sent).toBeGreaterThan(50);

    // Recorded times: deactivatingAt (left the discovery set) + the delay <= stoppingAt (its stop
    // sent to the agent) <= when its container finished.
    const byTask = new Map((await containerIntervals(`flotilla.task-id`)).map((i) => [i.taskId, i]));
    for (const id of old) {
      const task = (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task;
      expect(task.lastStatus).toBe("STOPPED");
      const deactivating = Date.parse(task.deactivatingAt);
      const stopping = Date.parse(task.stoppingAt);
      const container = byTask.get(id);
      expect(container).toBeDefined();
      expect(deactivating).toBeGreaterThan(0);
      expect(stopping - deactivating).toBeGreaterThanOrEqual(DELAY_SECONDS * 1000);
      expect(container!.to).toBeGreaterThan(deactivating + DELAY_SECONDS * 1000);
    }
    expect((await describeService(tc, C, "web")).deployments).toHaveLength(1);
  }, 120_000);
});
