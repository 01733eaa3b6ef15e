import { afterEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { tasks } from "../../../control/db/schema.ts";
import { arn } from "../../../shared/arn.ts";
import { ecsOk } from "../../helpers/aws-json.ts";
import { consoleHarness } from "../console/console-harness.ts";
import { addInstance } from "../../helpers/ops.ts";
import { APP_V1, APP_V2, fakeFleet } from "./fake-fleet.ts";

/**
 * Deployment windows in the reconcile loop, round by round, with the agents played in-process
 * (their reports go through applyReports) and a hand-driven clock: a window that opens 10 s after
 * the clock's start holds a rolling deployment on the host it covers and lets the other proceed.
 */
const C = "svc-windows";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

/** ManualClock starts at 2023-11-14T22:13:20Z; this window opens at 22:13:30 UTC every day, for an hour. */
const OPENS_AT = "2023-11-14T22:13:30.000Z";
const WINDOW = { name: "shop-nights", schedule: "30 13 22 * * *", durationMinutes: 60, timeZone: "UTC", filter: "attribute:site == shop-12" };

const describeSvc = async (name = "web") => (await fleet.t.request("GET", `/v1/clusters/${C}/services/${name}`)).body.service;
const arnOf = (id: string) => arn.containerInstance(C, id);

async function rounds(n: number, stepMs = 1000) {
  for (let i = 0; i < n; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(stepMs);
  }
}

/** Every task of the service ever placed, with where and which revision. */
async function allTasks(service = "web") {
  return fleet.t.ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, C), eq(tasks.serviceName, service))).all();
}

/**
 * Two instances, A (site shop-12, covered by the window) and B (not covered), a service with one
 * task on each, then the window. Returns the ids.
 */
async function setup(service: Record<string, unknown> = {}) {
  fleet = await fakeFleet(C, 2);
  const [a, b] = fleet.instances as [string, string];
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V2)).status).toBe(201);
  const put = await fleet.t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "site", value: "shop-12", targetId: a }] });
  expect(put.status).toBe(200);
  const created = await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "app:1",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }],
    ...service,
  });
  expect(created.status).toBe(201);
  await rounds(3);
  const first = await fleet.running("web");
  expect(first.map((t) => t.instanceId).sort()).toEqual([a, b].sort());
  const w = await fleet.t.request("POST", `/v1/clusters/${C}/deployment-windows`, WINDOW);
  expect(w.status).toBe(201);
  expect(w.body.deploymentWindow).toMatchObject({ name: "shop-nights", open: false, opensAt: OPENS_AT });
  return { a, b, oldOnA: first.find((t) => t.instanceId === a)!, oldOnB: first.find((t) => t.instanceId === b)! };
}

describe("deployment windows in the service scheduler", () => {
  test("a rolling deployment replaces the task on the uncovered host at once and holds the covered host until its window opens", async () => {
    const { a, b, oldOnA, oldOnB } = await setup({ placementConstraints: [] });
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" })).status).toBe(200);
    await rounds(5); // 5 s: the window is still 5 s away

    const before = await allTasks();
    // B's old task was replaced; A's still runs, untouched, and no new-revision task went to A.
    expect(before.find((t) => t.id === oldOnB.id)).toMatchObject({ desiredStatus: "STOPPED", lastStatus: "STOPPED" });
    expect(before.find((t) => t.id === oldOnA.id)).toMatchObject({ desiredStatus: "RUNNING", lastStatus: "RUNNING" });
    const newOnes = before.filter((t) => t.revision === 2);
    expect(newOnes.length).toBeGreaterThanOrEqual(1);
    expect(newOnes.every((t) => t.instanceId === b)).toBe(true);
    const mid = await describeSvc();
    expect(mid.deployments.map((d: any) => d.status)).toEqual(["PRIMARY", "ACTIVE"]);
    expect(mid.deployments[0].rolloutState).toBe("IN_PROGRESS");
    expect(mid.deployments[0].waitingHosts).toEqual([{ containerInstanceArn: arnOf(a), until: OPENS_AT }]);
    // ECS's own fields are as they were.
    expect(mid.deployments[0]).toMatchObject({ taskDefinition: expect.stringMatching(/app:2$/), desiredCount: 2, runningCount: 1 });
    // DescribeServices over AWS JSON shows the same.
    const ecs = await ecsOk(fleet.t.app, "DescribeServices", { cluster: C, services: ["web"] });
    expect(ecs.services[0].deployments[0].waitingHosts).toEqual([{ containerInstanceArn: arnOf(a), until: OPENS_AT }]);
    // And the console's service page.
    const ui = await consoleHarness(undefined, fleet.t);
    const page = await ui.get(`/console/clusters/${C}/services/web`, (await ui.login()).cookie);
    expect(page.status).toBe(200);
    expect(page.html).toContain(`Waiting for deployment windows: ${a} until ${OPENS_AT}`);

    // Into the window: the held host is replaced too and the deployment completes.
    fleet.clock.t = Date.parse(OPENS_AT) + 1000;
    await rounds(6);
    const after = await describeSvc();
    expect(after.deployments).toHaveLength(1);
    expect(after.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED" });
    expect(after.deployments[0].waitingHosts).toBeUndefined();
    expect((await fleet.running("web")).map((t) => t.revision)).toEqual([2, 2]);
    expect((await allTasks()).find((t) => t.id === oldOnA.id)).toMatchObject({ lastStatus: "STOPPED", stoppedReason: expect.stringContaining("Task replaced by") });
  });

  test("with distinctInstance (and 50/100, so a host's old task stops first) the covered host's replacement starts on it once the window opens", async () => {
    const { a, b, oldOnA } = await setup({ deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 } });
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await rounds(5);
    expect((await fleet.running("web")).map((t) => [t.instanceId, t.revision]).sort()).toEqual([[a, 1], [b, 2]].sort());
    fleet.clock.t = Date.parse(OPENS_AT);
    await rounds(6);
    expect((await fleet.running("web")).map((t) => [t.instanceId, t.revision]).sort()).toEqual([[a, 2], [b, 2]].sort());
    expect((await allTasks()).find((t) => t.id === oldOnA.id)!.lastStatus).toBe("STOPPED");
    expect((await describeSvc()).deployments[0].rolloutState).toBe("COMPLETED");
  });

  test("a failed task on the covered host is replaced outside the window", async () => {
    const { a, oldOnA } = await setup({ placementConstraints: [] });
    // It ran a minute (not a launch failure: no throttle); the window is hours away by now.
    fleet.clock.t = Date.parse(OPENS_AT) + 2 * 3600_000;
    fleet.agents.of(a).exit(oldOnA.id);
    await fleet.settle();
    await rounds(2);
    const running = await fleet.running("web");
    expect(running).toHaveLength(2);
    // Spread puts the replacement where the service has fewest tasks: the covered host A.
    const replacement = running.find((t) => t.id !== oldOnA.id && t.instanceId === a);
    expect(replacement).toBeDefined();
    expect((await describeSvc()).deployments[0]).toMatchObject({ rolloutState: "COMPLETED", failedTasks: 1 });
  });

  test("scale-up waits for windows (new tasks only on hosts inside theirs) unless windowPolicy.allowScaleOutsideWindow", async () => {
    const { a, b } = await setup({ placementConstraints: [] });
    fleet.clock.t = Date.parse(OPENS_AT) + 2 * 3600_000;
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 4 });
    await rounds(3);
    const perHost = async () => {
      const m: Record<string, number> = {};
      for (const t of await fleet.running("web")) {
        const k = t.instanceId === a ? "a" : t.instanceId === b ? "b" : "?";
        m[k] = (m[k] ?? 0) + 1;
      }
      return m;
    };
    expect(await perHost()).toEqual({ a: 1, b: 3 });

    const set = await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 6, deploymentConfiguration: { windowPolicy: { allowScaleOutsideWindow: true } } });
    expect(set.status).toBe(200);
    expect(set.body.service.deploymentConfiguration.windowPolicy).toEqual({ allowScaleOutsideWindow: true });
    await rounds(3);
    // Spread again over both hosts: A (1) gets the two new ones.
    expect(await perHost()).toEqual({ a: 3, b: 3 });
  });

  test("an operator override opens the covered host now, and is in the audit log under the caller's token", async () => {
    const { a } = await setup({ placementConstraints: [] });
    const tok = await fleet.t.request("POST", "/v1/tokens", { name: "oncall-ana", role: "operator" });
    expect(tok.status).toBe(201);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await rounds(3);
    expect((await describeSvc()).deployments[0].waitingHosts).toEqual([{ containerInstanceArn: arnOf(a), until: OPENS_AT }]);

    const res = await fleet.t.request("POST", `/v1/clusters/${C}/deployment-windows/override`, { filter: "attribute:site == shop-12", durationMinutes: 30, reason: "hotfix" }, tok.body.token);
    expect(res.status).toBe(201);
    expect(res.body.override).toMatchObject({ filter: "attribute:site == shop-12", createdBy: "oncall-ana", reason: "hotfix", until: new Date(fleet.clock.t + 30 * 60_000).toISOString() });
    const audit = await fleet.t.request("GET", "/v1/audit?limit=5");
    expect(audit.body.entries[0]).toMatchObject({
      action: "OverrideDeploymentWindows",
      method: "POST",
      path: `/v1/clusters/${C}/deployment-windows/override`,
      status: 201,
      who: { name: "oncall-ana" },
    });
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/deployment-windows/overrides`)).body.overrides).toHaveLength(1);

    await rounds(4, 500); // still before the window: the override alone lets the deployment finish
    expect(fleet.clock.t).toBeLessThan(Date.parse(OPENS_AT));
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ rolloutState: "COMPLETED" });
    expect((await fleet.running("web")).map((t) => t.revision)).toEqual([2, 2]);
  });

  test("a daemon rollout moves the uncovered host to the new revision and waits for the covered one's window", async () => {
    fleet = await fakeFleet(C, 2);
    const [a, b] = fleet.instances as [string, string];
    await fleet.t.request("POST", "/v1/task-definitions", APP_V1);
    await fleet.t.request("POST", "/v1/task-definitions", APP_V2);
    await fleet.t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "site", value: "shop-12", targetId: a }] });
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "agentd", taskDefinition: "app:1", schedulingStrategy: "DAEMON" })).status).toBe(201);
    await rounds(3);
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/deployment-windows`, WINDOW)).status).toBe(201);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/agentd`, { taskDefinition: "app:2" });
    await rounds(5);
    const at = async () => (await fleet.running("agentd")).map((t) => [t.instanceId, t.revision]).sort();
    expect(await at()).toEqual([[a, 1], [b, 2]].sort());
    expect((await describeSvc("agentd")).deployments[0].waitingHosts).toEqual([{ containerInstanceArn: arnOf(a), until: OPENS_AT }]);
    fleet.clock.t = Date.parse(OPENS_AT);
    await rounds(5);
    expect(await at()).toEqual([[a, 2], [b, 2]].sort());
    expect((await describeSvc("agentd")).deployments[0]).toMatchObject({ rolloutState: "COMPLETED" });
  });

  test("outside the window, a draining covered host's tasks are still replaced, and a new service's first tasks go only to hosts inside their window", async () => {
    const { a, b, oldOnA } = await setup({ placementConstraints: [] });
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${a}`, { status: "DRAINING" })).status).toBe(200);
    await rounds(3);
    expect((await allTasks()).find((t) => t.id === oldOnA.id)!.lastStatus).toBe("STOPPED");
    expect((await fleet.running("web")).map((t) => t.instanceId)).toEqual([b, b]);
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${a}`, { status: "ACTIVE" })).status).toBe(200);
    // A new service is scale-up: with A outside its window, both tasks start on B.
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "api", taskDefinition: "app:1", desiredCount: 2 });
    await rounds(2);
    expect((await fleet.running("api")).map((t) => t.instanceId)).toEqual([b, b]);
  });

  test("a daemon's first copy on a newly registered covered host starts outside the window", async () => {
    fleet = await fakeFleet(C, 1);
    await fleet.t.request("POST", "/v1/task-definitions", APP_V1);
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/deployment-windows`, { ...WINDOW, filter: undefined })).status).toBe(201);
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "agentd", taskDefinition: "app:1", schedulingStrategy: "DAEMON" })).status).toBe(201);
    await rounds(2);
    const late = await addInstance(fleet.t, C, { cpu: 4096, memory: 8192 });
    await rounds(2);
    expect((await fleet.running("agentd")).map((t) => t.instanceId).sort()).toEqual([fleet.instances[0]!, late].sort());
  });
});
