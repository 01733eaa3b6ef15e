import { afterEach, describe, expect, test } from "bun:test";
import { APP_V1, APP_V2, fakeFleet } from "./fake-fleet.ts";

/** The reconcile loop's decisions, round by round, with the agents played in-process. */
const C = "svc-unit";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup(instances = 2) {
  fleet = await fakeFleet(C, instances);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V2)).status).toBe(201);
  return fleet;
}

const describeSvc = async (name = "web") => (await fleet.t.request("GET", `/v1/clusters/${C}/services/${name}`)).body.service;

async function converge(rounds = 20, onRound?: () => Promise<void>) {
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    await onRound?.();
    await fleet.settle();
    fleet.clock.advance(1000);
  }
}

describe("service scheduler (in-process)", () => {
  test("a replica service of 4 spreads over 2 instances and reaches a steady state", async () => {
    await setup();
    const res = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 4 });
    expect(res.status).toBe(201);
    await fleet.round();
    expect((await describeSvc()).pendingCount).toBe(4);
    await converge(2);
    const svc = await describeSvc();
    expect(svc).toMatchObject({ runningCount: 4, pendingCount: 0, desiredCount: 4 });
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 4 });
    const perInstance = new Map<string, number>();
    for (const t of await fleet.running("web")) perInstance.set(t.instanceId, (perInstance.get(t.instanceId) ?? 0) + 1);
    expect([...perInstance.values()]).toEqual([2, 2]);
    const messages = svc.events.map((e: any) => e.message);
    expect(messages[0]).toBe("(service web) has reached a steady state.");
    expect(messages.filter((m: string) => m.includes("steady state"))).toHaveLength(1);
    expect(messages.some((m: string) => /^\(service web\) has started 4 tasks: \(task [0-9a-f]{32}\)/.test(m))).toBe(true);
  });

  test("a failed task is replaced", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 2 });
    await converge(3);
    const [victim] = await fleet.running("web");
    // It ran a minute, then its essential container exited (not a launch failure: no throttle).
    fleet.clock.advance(60_000);
    fleet.agents.of(victim!.instanceId).exit(victim!.id);
    await fleet.settle();
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${victim!.id}`)).body.task).toMatchObject({ lastStatus: "STOPPED", stopCode: "EssentialContainerExited" });
    await fleet.round();
    await fleet.settle();
    const running = await fleet.running("web");
    expect(running).toHaveLength(2);
    expect(running.map((t) => t.id)).not.toContain(victim!.id);
    expect((await describeSvc()).deployments[0].failedTasks).toBe(1);
  });

  test("rolling update with 50/100 never drops below 2 healthy and never runs more than 4", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    await converge(3);
    const upd = await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    expect(upd.status).toBe(200);
    expect(upd.body.service.deployments.map((d: any) => d.status)).toEqual(["PRIMARY", "ACTIVE"]);
    const samples: number[] = [];
    await converge(8, async () => {
      samples.push((await fleet.running("web")).length);
    });
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...samples)).toBeLessThanOrEqual(4);
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/app:2$/) });
    expect((await fleet.running("web")).every((t) => t.revision === 2)).toBe(true);
  });

  test("a scheduler restarted mid-deployment picks up where the last one stopped", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    await converge(3);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await fleet.round();
    await fleet.settle();
    await fleet.round();
    const mid = (await describeSvc()).deployments;
    expect(mid.map((d: any) => d.status)).toEqual(["PRIMARY", "ACTIVE"]);
    // A fresh scheduler: nothing carried over in memory.
    const { ServiceScheduler } = await import("../../../control/services/scheduler.ts");
    const fresh = new ServiceScheduler(fleet.t.ctx);
    const samples: number[] = [];
    for (let i = 0; i < 6; i++) {
      await fresh.runOnce();
      samples.push((await fleet.running("web")).length);
      await fleet.settle();
      fleet.clock.advance(1000);
    }
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
    const svc = await describeSvc();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ id: mid[0].id, rolloutState: "COMPLETED" });
    expect((await fleet.running("web")).map((t) => t.revision)).toEqual([2, 2, 2, 2]);
  });

  test("a revision whose tasks exit at once trips the circuit breaker and rolls back", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    // Under the breaker, completion waits until the tasks have run BREAKER_SETTLE_MS (3 s).
    await converge(5);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    for (let i = 0; i < 40; i++) {
      await fleet.round();
      await fleet.settle((arn) => arn.endsWith("app:2"));
      fleet.clock.advance(2000);
    }
    const svc = await describeSvc();
    expect(svc.taskDefinition).toMatch(/app:1$/);
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0]).toMatchObject({ status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: expect.stringMatching(/app:1$/) });
    const messages: string[] = svc.events.map((e: any) => e.message);
    expect(messages.some((m) => m.includes("deployment failed: tasks failed to start"))).toBe(true);
    expect(messages.some((m) => m.includes("rolling back to deployment"))).toBe(true);
    expect((await fleet.running("web")).filter((t) => t.revision === 1).length).toBe(4);
  });

  test("under the circuit breaker, tasks RUNNING for an instant do not complete the rollout before they exit", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 2,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    await converge(5);
    expect((await describeSvc()).deployments[0].rolloutState).toBe("COMPLETED");
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await fleet.round();
    // Every app:2 task reaches RUNNING and a round sees them all up at once...
    await fleet.settle();
    fleet.clock.advance(200);
    await fleet.round();
    const mid = await describeSvc();
    expect(mid.deployments.find((d: any) => d.status === "PRIMARY")).toMatchObject({ taskDefinition: expect.stringMatching(/app:2$/), rolloutState: "IN_PROGRESS" });
    // ...then they exit, and keep exiting: the breaker still watches the deployment and rolls back.
    for (let i = 0; i < 40; i++) {
      await fleet.settle((arn) => arn.endsWith("app:2"));
      fleet.clock.advance(2000);
      await fleet.round();
    }
    const svc = await describeSvc();
    expect(svc.taskDefinition).toMatch(/app:1$/);
    expect(svc.events.some((e: any) => e.message.includes("rolling back to deployment"))).toBe(true);
  });

  test("tasks that keep failing to start are retried with growing delays, and an event says so", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:2", desiredCount: 1 });
    const launches: number[] = [];
    for (let i = 0; i < 30; i++) {
      await fleet.round();
      if ((await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service.pendingCount) launches.push(fleet.clock.now());
      await fleet.settle(() => true);
      fleet.clock.advance(500);
    }
    const gaps = launches.slice(1).map((t, i) => t - launches[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
    const messages: string[] = (await describeSvc()).events.map((e: any) => e.message);
    expect(messages.some((m) => m.includes("is unable to consistently start tasks successfully"))).toBe(true);
    // One event per retry decision (each failed launch), not one per reconcile round counting down.
    const throttle = messages.filter((m) => m.includes("Retrying in"));
    expect(throttle.length).toBeGreaterThan(0);
    expect(throttle.length).toBeLessThanOrEqual(launches.length);
  });

  test("tasks on an instance disconnected past the grace period are replaced; on return the stale copies stop", async () => {
    await setup(3);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 3, disconnectGracePeriodSeconds: 5 });
    // A standalone task on the instance that will be lost.
    await converge(3);
    const victimInstance = (await fleet.running("web"))[0]!.instanceId;
    const standalone = await fleet.t.request("POST", `/v1/clusters/${C}/tasks`, {
      taskDefinition: "app:1",
      placementConstraints: [{ type: "memberOf", expression: `attribute:ecs.instance-id == "${victimInstance}"` }],
    });
    expect(standalone.body.tasks).toHaveLength(1);
    await fleet.settle();
    await fleet.disconnect(victimInstance);
    await fleet.round();
    expect((await fleet.running("web")).length).toBe(3); // within the grace period nothing moves
    fleet.clock.advance(6000);
    await fleet.round();
    const desiredRunning = (await fleet.running("web")).filter((t) => t.instanceId !== victimInstance);
    expect(desiredRunning.length).toBe(2);
    await fleet.settle();
    const after = await fleet.running("web");
    expect(after).toHaveLength(3);
    expect(after.some((t) => t.instanceId === victimInstance)).toBe(false);
    const task = (await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${standalone.body.tasks[0].taskId}`)).body.task;
    expect(task.desiredStatus).toBe("RUNNING");
    await fleet.reconnect(victimInstance);
    await converge(2);
    expect(await fleet.running("web")).toHaveLength(3);
    expect((await describeSvc()).events.some((e: any) => e.message.includes("marked 1 tasks lost"))).toBe(true);
  });

  test("DAEMON: one task per connected ACTIVE instance; a new instance gets one; draining removes it last", async () => {
    await setup(3);
    const res = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "agentd", taskDefinition: "app:1", schedulingStrategy: "DAEMON" });
    expect(res.status).toBe(201);
    await converge(2);
    let running = await fleet.running("agentd");
    expect(new Set(running.map((t) => t.instanceId)).size).toBe(3);
    expect(running).toHaveLength(3);
    const { addInstance } = await import("../../helpers/ops.ts");
    const fourth = await addInstance(fleet.t, C, { cpu: 4096, memory: 8192 });
    await converge(2);
    running = await fleet.running("agentd");
    expect(running).toHaveLength(4);
    expect(running.some((t) => t.instanceId === fourth)).toBe(true);
    expect((await describeSvc("agentd")).desiredCount).toBe(4);
    // Draining with a standalone task still there: the daemon stays until it is gone.
    const standalone = await fleet.t.request("POST", `/v1/clusters/${C}/tasks`, {
      taskDefinition: "app:1",
      placementConstraints: [{ type: "memberOf", expression: `attribute:ecs.instance-id == "${fourth}"` }],
    });
    await fleet.settle();
    await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${fourth}`, { status: "DRAINING" });
    await converge(2);
    expect((await fleet.running("agentd")).some((t) => t.instanceId === fourth)).toBe(true);
    await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${standalone.body.tasks[0].taskId}/stop`, {});
    await converge(2);
    expect((await fleet.running("agentd")).some((t) => t.instanceId === fourth)).toBe(false);
    expect(await fleet.running("agentd")).toHaveLength(3);
  });

  test("draining an instance moves replica tasks within the limits", async () => {
    await setup(3);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 3, placementConstraints: [{ type: "distinctInstance" }] });
    await converge(2);
    const victim = (await fleet.running("web"))[0]!.instanceId;
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { placementConstraints: [] });
    await converge(3);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${victim}`, { status: "DRAINING" });
    const samples: number[] = [];
    await converge(4, async () => {
      samples.push((await fleet.running("web")).length);
    });
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(3);
    const running = await fleet.running("web");
    expect(running).toHaveLength(3);
    expect(running.some((t) => t.instanceId === victim)).toBe(false);
  });

  test("delete with force scales to zero, DRAINING then INACTIVE", async () => {
    await setup();
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 2 });
    await converge(2);
    const refused = await fleet.t.request("DELETE", `/v1/clusters/${C}/services/web`);
    expect(refused.status).toBe(400);
    const del = await fleet.t.request("DELETE", `/v1/clusters/${C}/services/web?force=true`);
    expect(del.body.service.status).toBe("DRAINING");
    await converge(2);
    expect((await describeSvc()).status).toBe("INACTIVE");
    expect(await fleet.running("web")).toHaveLength(0);
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/services`)).body.services).toEqual([]);
  });
});
