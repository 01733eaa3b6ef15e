import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { describeService, serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Deployment windows with two real agents and the real Docker engine: agent A (site shop-12) is
 * covered by a window that is closed now (it opens 12 hours from now), agent B by none. A rolling
 * update replaces B's container and leaves A's running — the same container — with the deployment
 * showing A waiting until the window's opening; an operator override then lets it finish.
 */
const C = "svc-windows-int";
let tc: TestControl;
let a: { agent: AgentProcess; instanceId: string };
let b: { agent: AgentProcess; instanceId: string };

const web = (rev: string) => ({
  family: "web",
  containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, environment: [{ name: "REV", value: rev }] }],
});

beforeAll(async () => {
  tc = await startTestControl();
  a = await startRegisteredAgent(tc, C, ["--attribute", "site=shop-12"]);
  b = await startRegisteredAgent(tc, C);
  for (const rev of ["1", "2"]) expect((await tc.api("POST", "/v1/task-definitions", web(rev))).status).toBe(201);
}, 30_000);

afterAll(async () => {
  for (const x of [a, b]) if (x) await x.agent.stop();
  for (const x of [a, b]) if (x) await removeInstanceContainers(x.instanceId);
  await tc?.stop();
}, 30_000);

test("a rolling update waits on the host outside its window, goes ahead on the other, and finishes under an override", async () => {
  const created = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "web:1",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }],
    deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
  });
  expect(created.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 2, { revision: "web:1", timeoutMs: 30_000 });
  const onA = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(a.instanceId))!;
  const containerOnA: string = onA.containers[0].runtimeId;

  const opening = new Date(Date.now() + 12 * 3600_000);
  const window = await tc.api("POST", `/v1/clusters/${C}/deployment-windows`, {
    name: "shop-nights",
    schedule: `0 ${opening.getUTCHours()} * * *`,
    durationMinutes: 60,
    filter: "attribute:site == shop-12",
  });
  expect(window.status).toBe(201);
  expect(window.body.deploymentWindow.open).toBe(false);
  const until = window.body.deploymentWindow.opensAt;

  expect((await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "web:2" })).status).toBe(200);
  // B moves to web:2; A is held and the deployment says until when.
  const svc = await waitFor("B on web:2 and A shown waiting", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    const onB = tasks.find((t) => t.containerInstanceArn.endsWith(b.instanceId));
    const s = await describeService(tc, C, "web");
    return onB?.lastStatus === "RUNNING" && onB.taskDefinitionArn.endsWith("web:2") && s.deployments[0].waitingHosts?.length ? s : undefined;
  }, { timeoutMs: 30_000 });
  expect(svc.deployments[0].waitingHosts).toEqual([{ containerInstanceArn: onA.containerInstanceArn, until }]);
  expect(svc.deployments[0].rolloutState).toBe("IN_PROGRESS");
  const held = (await tc.api("GET", `/v1/clusters/${C}/tasks/${onA.taskId}`)).body.task;
  expect(held).toMatchObject({ desiredStatus: "RUNNING", lastStatus: "RUNNING" });
  expect((await docker("inspect", "-f", "{{.State.Running}}", containerOnA)).trim()).toBe("true");

  const override = await tc.api("POST", `/v1/clusters/${C}/deployment-windows/override`, { filter: "attribute:site == shop-12", durationMinutes: 10, reason: "integration test" });
  expect(override.status).toBe(201);
  const done = await waitServiceSteady(tc, C, "web", 2, { revision: "web:2", timeoutMs: 30_000 });
  expect(done.deployments[0].waitingHosts).toBeUndefined();
  const after = await serviceTasks(tc, C, "web");
  // distinctInstance: the held host got its web:2 task once the override opened it.
  expect(after.map((t) => [t.containerInstanceArn.split("/").pop(), t.taskDefinitionArn.split("/").pop()]).sort()).toEqual([[a.instanceId, "web:2"], [b.instanceId, "web:2"]].sort());
  expect((await tc.api("GET", `/v1/clusters/${C}/tasks/${onA.taskId}`)).body.task.lastStatus).toBe("STOPPED");
}, 90_000);
