import { afterEach, describe, expect, test } from "bun:test";
import { APP_V1, APP_V2, fakeFleet } from "./fake-fleet.ts";
import { slowStopAgents, unstoppedTasks } from "./slow-stop-agents.ts";

/**
 * maximumPercent bounds every task of a service that is not yet STOPPED — ones asked to stop and
 * still stopping included, as in ECS — and minimumHealthyPercent counts only RUNNING tasks not
 * being stopped. The agents here take two reports to stop a task, so a scheduler that counted
 * only desired-RUNNING tasks would start replacements beside tasks still shutting down.
 */
const C = "svc-maxpct";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup(instances = 2) {
  fleet = await fakeFleet(C, instances);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V2)).status).toBe(201);
  return { fleet, agents: slowStopAgents(fleet.t.ctx, C, 2) };
}

const describeSvc = async (name = "web") => (await fleet.t.request("GET", `/v1/clusters/${C}/services/${name}`)).body.service;
const healthyRunning = async (name = "web") => (await fleet.running(name)).length;

/** What each step of a rollout left: tasks not STOPPED, healthy ones, and deployments. */
interface Observation {
  unstopped: number;
  perInstanceMax: number;
  healthy: number;
  completedWithOldTasksLeft: boolean;
}

async function observe(name = "web"): Promise<Observation> {
  const unstopped = await unstoppedTasks(fleet.t.ctx, C, name);
  const per = new Map<string, number>();
  for (const t of unstopped) per.set(t.instanceId, (per.get(t.instanceId) ?? 0) + 1);
  const svc = await describeSvc(name);
  const primary = svc.deployments.find((d: any) => d.status === "PRIMARY");
  const completed = svc.deployments.length === 1 && primary?.rolloutState === "COMPLETED";
  return {
    unstopped: unstopped.length,
    perInstanceMax: Math.max(0, ...per.values()),
    healthy: await healthyRunning(name),
    completedWithOldTasksLeft: completed && unstopped.some((t) => t.taskDefinitionArn !== primary.taskDefinition),
  };
}

/** Rounds and agent reports alternate; every state in between is observed. */
async function drive(agents: ReturnType<typeof slowStopAgents>, rounds: number, name = "web"): Promise<Observation[]> {
  const seen: Observation[] = [];
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    seen.push(await observe(name));
    await agents.settle();
    seen.push(await observe(name));
    fleet.clock.advance(1000);
  }
  return seen;
}

describe("maximumPercent counts tasks still stopping", () => {
  test("50/100 rolling update of 4: never more than 4 tasks not STOPPED, never fewer than 2 healthy", async () => {
    const { agents } = await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    await drive(agents, 3);
    expect((await describeSvc()).deployments[0].rolloutState).toBe("COMPLETED");
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" })).status).toBe(200);
    const seen = await drive(agents, 16);
    expect(Math.max(...seen.map((o) => o.unstopped))).toBe(4);
    expect(Math.min(...seen.map((o) => o.healthy))).toBe(2);
    // The deployment completes only once the tasks it replaced have STOPPED.
    expect(seen.some((o) => o.completedWithOldTasksLeft)).toBe(false);
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/app:2$/) });
    expect((await unstoppedTasks(fleet.t.ctx, C, "web")).map((t) => t.revision)).toEqual([2, 2, 2, 2]);
  });

  test("100/200 rolling update of 4: never more than 8 tasks not STOPPED, never fewer than 4 healthy", async () => {
    const { agents } = await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 4 });
    await drive(agents, 3);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    const seen = await drive(agents, 10);
    expect(Math.max(...seen.map((o) => o.unstopped))).toBe(8);
    expect(Math.min(...seen.map((o) => o.healthy))).toBe(4);
    expect(seen.some((o) => o.completedWithOldTasksLeft)).toBe(false);
    expect((await describeSvc()).deployments[0]).toMatchObject({ rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/app:2$/) });
  });

  test("at maximumPercent 100, a task stopped by a user is replaced only once it has STOPPED", async () => {
    const { agents } = await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    await drive(agents, 3);
    const [victim] = await fleet.running("web");
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${victim!.id}/stop`, {})).status).toBe(200);
    const seen = await drive(agents, 6);
    expect(Math.max(...seen.map((o) => o.unstopped))).toBe(4);
    expect(await healthyRunning()).toBe(4);
    expect((await fleet.running("web")).map((t) => t.id)).not.toContain(victim!.id);
  });

  test("DAEMON 0/100: the new copy starts on an instance only once the old one has STOPPED", async () => {
    const { agents } = await setup(3);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "agentd", taskDefinition: "app:1", schedulingStrategy: "DAEMON" });
    await drive(agents, 2, "agentd");
    expect(await healthyRunning("agentd")).toBe(3);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/agentd`, { taskDefinition: "app:2" });
    const seen = await drive(agents, 8, "agentd");
    expect(Math.max(...seen.map((o) => o.perInstanceMax))).toBe(1);
    expect(seen.some((o) => o.completedWithOldTasksLeft)).toBe(false);
    const running = await fleet.running("agentd");
    expect(running.map((t) => t.revision)).toEqual([2, 2, 2]);
    expect((await describeSvc("agentd")).deployments[0]).toMatchObject({ rolloutState: "COMPLETED" });
  });

  test("tasks lost on a disconnected instance, asked to stop, do not hold the limit: a rollout still completes", async () => {
    const { agents } = await setup(3);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 3,
      disconnectGracePeriodSeconds: 5,
      placementConstraints: [{ type: "distinctInstance" }],
      deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 },
    });
    await drive(agents, 3);
    const victim = (await fleet.running("web"))[0]!.instanceId;
    // The host goes away: it reports nothing, so its task is never seen STOPPED.
    agents.silent.add(victim);
    await fleet.disconnect(victim);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { placementConstraints: [] });
    fleet.clock.advance(6000);
    await drive(agents, 4);
    const lost = (await unstoppedTasks(fleet.t.ctx, C, "web")).filter((t) => t.instanceId === victim);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ desiredStatus: "STOPPED", lastStatus: "RUNNING" });
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await drive(agents, 10);
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/app:2$/) });
    expect((await fleet.running("web")).filter((t) => t.revision === 2)).toHaveLength(3);
  });
});
