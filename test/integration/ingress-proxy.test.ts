import { servedByWeb } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { addHostAddress } from "../helpers/host-address.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

/**
 * Service ingress end to end, real Docker and two real agents on this machine, each with an
 * address of its own on lo (198.18.54.x; its ingress proxy binds only that address, its
 * endpoints are advertised there). The service's one httpd task runs on host B only; a request to
 * the ingress port on host A's address is forwarded to it through B's host port, with nothing
 * but the discovery set telling A where the task is. The task is stopped and replaced: requests
 * reach the new task.
 */
const C = "ingress-e2e";
const ADDRESSES = ["198.18.54.1", "198.18.54.2"];
let tc: TestControl;
let listenPort = 0;
const removals: (() => Promise<void>)[] = [];
const hosts: { agent: AgentProcess; instanceId: string }[] = [];

const webDefinition = servedByWeb("ingress-web");

const agentArgs = (i: number) => ["--ingress", ADDRESSES[i]!, "--advertise-address", ADDRESSES[i]!, "--attribute", `role=${i === 0 ? "edge" : "web"}`];

/** The body of GET / through host `i`'s ingress port, or undefined when it fails. */
async function viaIngress(i: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${ADDRESSES[i]}:${listenPort}/`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? (await res.text()).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** What the task's httpd answers: served-by-HOSTNAME, HOSTNAME being its container id's first 12 characters. */
async function answerOf(taskId: string): Promise<string> {
  const [id] = await runningWithLabel(`flotilla.task-id=${taskId}`);
  if (!id) throw new Error(`no running container of task ${taskId}`);
  return `served-by-${id.slice(0, 12)}`;
}

const taskIdOf = (t: { taskArn: string }) => t.taskArn.split("/").pop()!;

beforeAll(async () => {
  for (const address of ADDRESSES) removals.push(await addHostAddress(address));
  tc = await startTestControl();
  for (let i = 0; i < ADDRESSES.length; i++) hosts.push(await startRegisteredAgent(tc, C, agentArgs(i)));
  expect((await tc.api("POST", "/v1/task-definitions", webDefinition)).status).toBe(201);
  listenPort = await freePort();
  const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "ingress-web",
    desiredCount: 1,
    placementConstraints: [{ type: "memberOf", expression: "attribute:role == web" }],
    ingress: [{ containerPort: 80, listenPort, protocol: "tcp" }],
  });
  expect(res.body.error ?? res.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 1, { timeoutMs: 40_000 });
}, 120_000);

afterAll(async () => {
  await releaseFileResources();
  for (const remove of removals) await remove();
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("service ingress", () => {
  test("a request to host A's ingress port reaches the task on host B", async () => {
    const [task] = await serviceTasks(tc, C, "web");
    expect(task.containerInstanceArn).toEndWith(hosts[1]!.instanceId);
    const expected = await answerOf(taskIdOf(task));
    // The target host A's proxy is given: host B's address and the task's host port (the SRV data).
    const web = (await tc.api("GET", `/v1/clusters/${C}/discovery`)).body.services.find((s: { name: string }) => s.name === "web");
    expect(web.ingress).toEqual([{ containerPort: 80, listenPort, protocol: "tcp" }]);
    expect(web.tasks.map((t: { address: string }) => t.address)).toEqual([ADDRESSES[1]]);
    expect(await waitFor("host A's ingress to answer", () => viaIngress(0), { timeoutMs: 20_000 })).toBe(expected);
    // Host B's proxy listens on its own address too and forwards to its local task.
    expect(await waitFor("host B's ingress to answer", () => viaIngress(1), { timeoutMs: 20_000 })).toBe(expected);
    expect(hosts[0]!.agent.output()).toContain(`ingress port ${ADDRESSES[0]}:${listenPort} → service web`);
  }, 60_000);

  test("after the task is stopped and replaced, requests reach the new task", async () => {
    const [old] = await serviceTasks(tc, C, "web");
    const oldId = taskIdOf(old);
    const oldAnswer = await answerOf(oldId);
    expect((await tc.api("POST", `/v1/clusters/${C}/tasks/${oldId}/stop`, {})).status).toBe(200);
    const replacement = await waitFor(
      "a replacement task RUNNING",
      async () => (await serviceTasks(tc, C, "web")).find((t) => taskIdOf(t) !== oldId && t.lastStatus === "RUNNING" && t.desiredStatus === "RUNNING"),
      { timeoutMs: 40_000 },
    );
    const newAnswer = await answerOf(taskIdOf(replacement));
    expect(newAnswer).not.toBe(oldAnswer);
    await waitFor("host A's ingress to reach the new task", async () => (await viaIngress(0)) === newAnswer, { timeoutMs: 20_000 });
  }, 90_000);

  test("a listen port host A cannot bind becomes a service event naming host A; the agent carries on", async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(port, ADDRESSES[0], () => r()));
    try {
      const res = await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "other", taskDefinition: "ingress-web", desiredCount: 0, ingress: [{ containerPort: 80, listenPort: port }] });
      expect(res.body.error ?? res.status).toBe(201);
      const hostA = (await tc.api("GET", `/v1/clusters/${C}/container-instances/${hosts[0]!.instanceId}`)).body.containerInstance.containerInstanceArn as string;
      const event = await waitFor("a service event about the port", async () =>
        ((await tc.api("GET", `/v1/clusters/${C}/services/other`)).body.service.events as { message: string }[]).find((e) => e.message.includes(`ingress port ${port}`)),
      );
      expect(event.message).toContain(hostA);
      expect(event.message).toContain("EADDRINUSE");
      expect(event.message).not.toContain(hosts[1]!.instanceId);
      // Host A's proxy still serves the other service's port.
      expect(await waitFor("host A's ingress still answering", () => viaIngress(0))).toStartWith("served-by-");
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 60_000);

  test("with the control service gone, a restarted agent forwards from the set on disk", async () => {
    const [task] = (await serviceTasks(tc, C, "web")).filter((t) => t.lastStatus === "RUNNING");
    const expected = await answerOf(taskIdOf(task));
    const a = hosts[0]!;
    await tc.stop();
    await a.agent.stop();
    a.agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: a.agent.dataDir, args: agentArgs(0) });
    expect(await waitFor("the restarted agent's ingress to answer", () => viaIngress(0), { timeoutMs: 20_000 })).toBe(expected);
  }, 60_000);
});
