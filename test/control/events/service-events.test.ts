import { afterEach, expect, test } from "bun:test";
import type { EventEnvelope } from "../../../control/events/log.ts";
import { APP_V1, APP_V2, fakeFleet } from "../services/fake-fleet.ts";

/**
 * Deployment and service events from the scheduler's real rounds, the agents played through the
 * report path (fake-fleet.ts): IN_PROGRESS → COMPLETED, SERVICE_STEADY_STATE, desiredCount
 * updates, a circuit-breaker failure with its rollback, a placement failure said once.
 */
const C = "svc-ev";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function converge(rounds: number, fail: (arn: string) => boolean = () => false) {
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    await fleet.settle(fail);
    fleet.clock.advance(2000);
  }
}

const serviceEvents = async () =>
  ((await fleet.t.request("GET", `/v1/events?after=0&service=web&limit=1000`)).body.events as EventEnvelope[])
    .filter((e) => e["detail-type"] !== "ECS Task State Change")
    .map((e) => [
    e["detail-type"],
    e.detail.eventName,
    e.detail.deploymentId ?? null,
  ]);

test("a deployment's transitions, steady state and desiredCount updates are events", async () => {
  fleet = await fakeFleet(C, 2);
  await fleet.t.request("POST", "/v1/task-definitions", APP_V1);
  const created = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 2 });
  expect(created.status).toBe(201);
  await converge(3);
  await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 3 });
  await converge(3);
  const events = await serviceEvents();
  const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
  const dep = svc.deployments[0].id;
  expect(events).toEqual([
    ["ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS", dep],
    ["ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED", dep],
    ["ECS Service Action", "SERVICE_STEADY_STATE", null],
    ["ECS Service Action", "SERVICE_DESIRED_COUNT_UPDATED", null],
    ["ECS Service Action", "SERVICE_STEADY_STATE", null],
  ]);
  const all = (await fleet.t.request("GET", `/v1/events?after=0&service=web&limit=1000`)).body.events as EventEnvelope[];
  expect(all.find((e) => e.detail.eventName === "SERVICE_DESIRED_COUNT_UPDATED")!.detail).toMatchObject({ desiredCount: 3, previousDesiredCount: 2 });
  // The service's tasks are in the log too, filtered to it: three launched, all RUNNING.
  const tasks = ((await fleet.t.request("GET", `/v1/events?after=0&limit=1000`)).body.events as EventEnvelope[]).filter((e) => e["detail-type"] === "ECS Task State Change");
  expect(new Set(tasks.filter((e) => e.detail.lastStatus === "RUNNING").map((e) => e.detail.taskArn)).size).toBe(3);
});

test("a circuit-breaker failure is SERVICE_DEPLOYMENT_FAILED, then the rollback's IN_PROGRESS; no room is a placement failure, said once", async () => {
  fleet = await fakeFleet(C, 1);
  await fleet.t.request("POST", "/v1/task-definitions", APP_V1);
  await fleet.t.request("POST", "/v1/task-definitions", APP_V2);
  await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "app:1",
    desiredCount: 2,
    deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
  });
  await converge(5);
  await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
  await converge(40, (arn) => arn.endsWith("app:2"));
  const names = (await serviceEvents()).map(([type, name]) => `${type === "ECS Deployment State Change" ? "D" : "S"}:${name}`);
  const failedAt = names.indexOf("D:SERVICE_DEPLOYMENT_FAILED");
  expect(failedAt).toBeGreaterThan(0);
  expect(names[failedAt + 1]).toBe("D:SERVICE_DEPLOYMENT_IN_PROGRESS"); // the rollback
  const failed = ((await fleet.t.request("GET", `/v1/events?after=0&service=web&limit=1000`)).body.events as EventEnvelope[]).find(
    (e) => e.detail.eventName === "SERVICE_DEPLOYMENT_FAILED",
  )!;
  expect(failed.detail).toMatchObject({ eventType: "ERROR", reason: expect.stringContaining("circuit breaker") });

  // Far more than the one instance holds: the placement failure is said once, however many rounds.
  await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 1000 });
  await converge(4);
  const after = (await serviceEvents()).filter(([, name]) => name === "SERVICE_TASK_PLACEMENT_FAILURE");
  expect(after).toHaveLength(1);
});
