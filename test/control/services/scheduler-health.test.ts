import { afterEach, describe, expect, test } from "bun:test";
import type { DesiredTask, HealthStatus } from "../../../shared/messages.ts";
import { CHECKED_V1, CHECKED_V2, fakeFleet } from "./fake-fleet.ts";

/**
 * Services whose task definition has container health checks, with the agents' health reports
 * going through applyReports: a task counts only once its checks say HEALTHY.
 */
const C = "svc-health";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup(instances = 2) {
  fleet = await fakeFleet(C, instances);
  expect((await fleet.t.request("POST", "/v1/task-definitions", CHECKED_V1)).status).toBe(201);
  expect((await fleet.t.request("POST", "/v1/task-definitions", CHECKED_V2)).status).toBe(201);
  return fleet;
}

const describeSvc = async () => (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
const revisionOf = (d: DesiredTask) => Number(d.taskDefinitionArn.slice(d.taskDefinitionArn.lastIndexOf(":") + 1));

/** Rounds with the agents reporting `health`; `each` sees the state after every round's reports. */
async function converge(rounds: number, health: (d: DesiredTask) => HealthStatus, each?: () => Promise<void>, stepMs = 1000) {
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    await fleet.settle(undefined, { health });
    await each?.();
    fleet.clock.advance(stepMs);
  }
}

const running = async (revision?: number) => (await fleet.running("web")).filter((t) => revision === undefined || t.revision === revision);

describe("health-aware services (in-process, reports through applyReports)", () => {
  test("the deployment completes only once its tasks report HEALTHY; the task shows the stored health", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "checked:1", desiredCount: 2 });
    await converge(4, () => "UNKNOWN");
    let svc = await describeSvc();
    expect(svc.runningCount).toBe(2);
    expect(svc.deployments[0].rolloutState).toBe("IN_PROGRESS");
    const [task] = await running();
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${task!.id}`)).body.task.healthStatus).toBe("UNKNOWN");
    await converge(2, () => "HEALTHY");
    svc = await describeSvc();
    expect(svc.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED" });
    const shown = (await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${task!.id}`)).body.task;
    expect(shown.healthStatus).toBe("HEALTHY");
    expect(shown.containers[0].healthStatus).toBe("HEALTHY");
  });

  test("a rolling update (100/200) keeps every old task until the new ones are HEALTHY", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "checked:1", desiredCount: 3 });
    await converge(3, () => "HEALTHY");
    expect((await describeSvc()).deployments[0].rolloutState).toBe("COMPLETED");
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "checked:2" });
    const oldRunning: number[] = [];
    await converge(6, (d) => (revisionOf(d) === 2 ? "UNKNOWN" : "HEALTHY"), async () => {
      oldRunning.push((await running(1)).length);
    });
    expect(Math.min(...oldRunning)).toBe(3);
    expect(await running(2)).toHaveLength(3);
    expect((await describeSvc()).deployments.map((d: any) => [d.status, d.rolloutState])).toEqual([
      ["PRIMARY", "IN_PROGRESS"],
      ["ACTIVE", "COMPLETED"],
    ]);
    await converge(4, () => "HEALTHY");
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/checked:2$/) });
    expect(await running(1)).toHaveLength(0);
    expect(await running(2)).toHaveLength(3);
  });

  test("a task whose checks fail after healthCheckGracePeriodSeconds is stopped with ECS's reason and replaced", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "checked:1", desiredCount: 2, healthCheckGracePeriodSeconds: 10 });
    await converge(2, () => "HEALTHY");
    const [victim] = await running();
    const health = (d: DesiredTask): HealthStatus => (d.taskId === victim!.id ? "UNHEALTHY" : "HEALTHY");
    // Within the grace period an UNHEALTHY task is left alone.
    await converge(3, health);
    expect((await running()).map((t) => t.id)).toContain(victim!.id);
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${victim!.id}`)).body.task.healthStatus).toBe("UNHEALTHY");
    // ...but it does not count as healthy meanwhile (endpoints apply the scheduler's test).
    const listed = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as any[];
    expect(listed.some((e) => e.taskArn === victim!.arn)).toBe(false);
    // After it, the scheduler stops it and starts a replacement.
    await converge(8, health);
    const stopped = (await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${victim!.id}`)).body.task;
    expect(stopped).toMatchObject({ desiredStatus: "STOPPED", lastStatus: "STOPPED", stoppedReason: "Task failed container health checks", stopCode: "ServiceSchedulerInitiated" });
    const now = await running();
    expect(now).toHaveLength(2);
    expect(now.map((t) => t.id)).not.toContain(victim!.id);
    const svc = await describeSvc();
    expect(svc.deployments[0].failedTasks).toBe(1);
    expect(svc.events.some((e: any) => e.message === `(service web) (task ${victim!.id}) failed container health checks.`)).toBe(true);
  });

  test("a rolling deployment whose checks never pass trips the circuit breaker and rolls back, old tasks kept throughout", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "checked:1",
      desiredCount: 2,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    await converge(6, () => "HEALTHY");
    expect((await describeSvc()).deployments[0].rolloutState).toBe("COMPLETED");
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "checked:2" });
    const oldRunning: number[] = [];
    await converge(60, (d) => (revisionOf(d) === 2 ? "UNHEALTHY" : "HEALTHY"), async () => {
      oldRunning.push((await running(1)).length);
    }, 2000);
    expect(Math.min(...oldRunning)).toBe(2);
    const svc = await describeSvc();
    expect(svc.taskDefinition).toMatch(/checked:1$/);
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/checked:1$/) });
    const messages: string[] = svc.events.map((e: any) => e.message);
    expect(messages.some((m) => m.includes("failed container health checks"))).toBe(true);
    expect(messages.some((m) => m.includes("deployment failed: tasks failed to start"))).toBe(true);
    expect(messages.some((m) => m.includes("rolling back to deployment"))).toBe(true);
    expect(await running(2)).toHaveLength(0);
  });

  test("draining an instance stops its tasks only once their replacements elsewhere are HEALTHY", async () => {
    await setup(2);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "checked:1", desiredCount: 2, placementConstraints: [{ type: "distinctInstance" }] });
    await converge(3, () => "HEALTHY");
    const victim = (await running())[0]!.instanceId;
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { placementConstraints: [] });
    await converge(3, () => "HEALTHY");
    const before = await running();
    await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${victim}`, { status: "DRAINING" });
    const onVictim: number[] = [];
    const replacementsUnknown = (d: DesiredTask): HealthStatus => (before.some((t) => t.id === d.taskId) ? "HEALTHY" : "UNKNOWN");
    await converge(5, replacementsUnknown, async () => {
      onVictim.push((await running()).filter((t) => t.instanceId === victim).length);
    });
    expect(Math.min(...onVictim)).toBe(1);
    await converge(4, () => "HEALTHY");
    const after = await running();
    expect(after).toHaveLength(2);
    expect(after.some((t) => t.instanceId === victim)).toBe(false);
  });
});
