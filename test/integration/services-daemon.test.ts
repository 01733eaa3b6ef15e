import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { containerIntervals, type ContainerInterval } from "../helpers/container-intervals.ts";
import { fewestAtOnce } from "../helpers/intervals.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/** DAEMON services and draining on real agents. */
const C = "svc-daemon";
let tc: TestControl;
const agents: { agent: AgentProcess; instanceId: string }[] = [];

/** Task ids of each service, stopped ones included (containers are matched to tasks by them). */
const serviceTaskIds = new Map<string, Set<string>>();
const taskIdsOf = (service: string) => serviceTaskIds.get(service) ?? new Set<string>();
async function refreshTaskIds(): Promise<void> {
  const all: any[] = [];
  for (const status of ["RUNNING", "STOPPED"]) all.push(...(await tc.api("GET", `/v1/clusters/${C}/tasks?desiredStatus=${status}`)).body.tasks);
  serviceTaskIds.clear();
  for (const t of all) {
    const service = String(t.group ?? "").replace(/^service:/, "");
    if (!serviceTaskIds.has(service)) serviceTaskIds.set(service, new Set());
    serviceTaskIds.get(service)!.add(t.taskId);
  }
}

const TD = {
  family: "d",
  containerDefinitions: [{ name: "d", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2 }],
};


beforeAll(async () => {
  tc = await startTestControl();
  for (let i = 0; i < 3; i++) agents.push(await startRegisteredAgent(tc, C));
  expect((await tc.api("POST", "/v1/task-definitions", TD)).status).toBe(201);
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  await tc?.stop();
}, 30_000);

describe("daemon and draining on real agents", () => {
  test("a DAEMON runs one task on each of 3 agents; a 4th agent that registers gets one", async () => {
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "daemon", taskDefinition: "d", schedulingStrategy: "DAEMON" });
    expect(res.status).toBe(201);
    await waitServiceSteady(tc, C, "daemon", 3);
    let tasks = await serviceTasks(tc, C, "daemon");
    expect(new Set(tasks.map((t) => t.containerInstanceId))).toEqual(new Set(agents.map((a) => a.instanceId)));

    agents.push(await startRegisteredAgent(tc, C));
    const fourth = agents[3]!.instanceId;
    await waitFor("the new instance's daemon task", async () => {
      const list = await serviceTasks(tc, C, "daemon");
      return list.some((t) => t.containerInstanceId === fourth && t.lastStatus === "RUNNING");
    }, { timeoutMs: 10_000 });
    const svc = await waitServiceSteady(tc, C, "daemon", 4);
    expect(svc.desiredCount).toBe(4);
    tasks = await serviceTasks(tc, C, "daemon");
    expect(tasks).toHaveLength(4);
    expect(await runningWithLabel(`flotilla.instance-id=${fourth}`)).toHaveLength(1);
  }, 45_000);

  test("endpoints name each RUNNING task's instance address and bound host port", async () => {
    const td = { family: "ep", containerDefinitions: [{ ...TD.containerDefinitions[0], name: "ep", portMappings: [{ containerPort: 80, protocol: "tcp" }] }] };
    expect((await tc.api("POST", "/v1/task-definitions", td)).status).toBe(201);
    expect((await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "ep", taskDefinition: "ep", desiredCount: 2 })).status).toBe(201);
    await waitServiceSteady(tc, C, "ep", 2);
    const endpoints = await waitFor("2 endpoints", async () => {
      const list = (await tc.api("GET", `/v1/clusters/${C}/services/ep/endpoints`)).body.endpoints as any[];
      return list.length === 2 ? list : undefined;
    });
    for (const e of endpoints) {
      expect(e).toMatchObject({ containerName: "ep", containerPort: 80, protocol: "tcp" });
      expect(e.hostPort).toBeGreaterThan(0);
      expect(typeof e.address).toBe("string");
      const res = await fetch(`http://127.0.0.1:${e.hostPort}/`);
      expect(res.status).toBeLessThan(500);
    }
    const del = await tc.api("DELETE", `/v1/clusters/${C}/services/ep?force=true`);
    expect(del.body.service.status).toBe("DRAINING");
    await waitFor("ep INACTIVE", async () => (await tc.api("GET", `/v1/clusters/${C}/services/ep`)).body.service.status === "INACTIVE");
  }, 45_000);

  test("draining an instance moves its replica tasks elsewhere, and its daemon task goes last", async () => {
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "d", desiredCount: 4 });
    expect(res.status).toBe(201);
    await waitServiceSteady(tc, C, "web", 4);
    const victim = (await serviceTasks(tc, C, "web"))[0].containerInstanceId;
    const drainFrom = Date.now();
    const drain = await tc.api("PATCH", `/v1/clusters/${C}/container-instances/${victim}`, { status: "DRAINING" });
    expect(drain.status).toBe(200);
    await waitFor("web tasks to leave the draining instance", async () => {
      const list = await serviceTasks(tc, C, "web");
      return list.length === 4 && list.every((t) => t.containerInstanceId !== victim && t.lastStatus === "RUNNING");
    });
    const drainTo = Date.now();
    await refreshTaskIds();
    // The default 100/200 keeps all 4 up while moving: at no instant fewer than 4 of web's
    // containers ran (read from the engine's recorded start and finish times, not sampled).
    const web = (await containerIntervals(`flotilla.cluster=${C}`)).filter((i) => i.taskId && taskIdsOf("web").has(i.taskId));
    expect(web.length).toBeGreaterThanOrEqual(5); // the 4 and at least one replacement
    expect(fewestAtOnce(web, { from: drainFrom, to: drainTo }).count).toBeGreaterThanOrEqual(4);
    await waitFor("the daemon task to leave the drained instance", async () => {
      const list = await serviceTasks(tc, C, "daemon");
      return !list.some((t) => t.containerInstanceId === victim);
    });
    await waitFor("no containers on the drained instance", async () => (await runningWithLabel(`flotilla.instance-id=${victim}`)).length === 0);
    // The daemon task went last: its container on the drained instance finished after every web
    // container there had (recorded times, so no moment in between is missed).
    await refreshTaskIds();
    const atDrain = (i: ContainerInterval) => i.from <= drainFrom && drainFrom < i.to;
    const onVictim = (await containerIntervals(`flotilla.instance-id=${victim}`)).filter(atDrain);
    const webEnds = onVictim.filter((i) => taskIdsOf("web").has(i.taskId)).map((i) => i.to);
    const daemonEnds = onVictim.filter((i) => taskIdsOf("daemon").has(i.taskId)).map((i) => i.to);
    expect(webEnds.length).toBeGreaterThanOrEqual(1);
    expect(daemonEnds).toHaveLength(1);
    expect(daemonEnds[0]!).toBeGreaterThanOrEqual(Math.max(...webEnds));
    await waitServiceSteady(tc, C, "daemon", 3);
  }, 45_000);
});
