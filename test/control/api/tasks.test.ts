import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { resourceInteger } from "../../../shared/instance-resources.ts";
import { applyReport } from "../../../control/ops/reports.ts";
import type { Report } from "../../../shared/messages.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await t.request("POST", "/v1/task-definitions", WEBSERVER);
});
afterEach(() => t.close());

function report(instanceId: string, seq: number, tasks: Report["tasks"]): Report {
  return { instanceId, bootId: "b", seq, generation: 1, sentAt: Date.now(), tasks };
}

describe("RunTask", () => {
  test("places on an instance with room, reserves its resources and announces the desired change", async () => {
    const inst = await addInstance(t, "edge", { cpu: 1024, memory: 1024 });
    const res = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver", count: 1, startedBy: "me" });
    expect(res.status).toBe(201);
    expect(res.body.failures).toEqual([]);
    const task = res.body.tasks[0];
    expect(task).toMatchObject({ desiredStatus: "RUNNING", lastStatus: "PROVISIONING", containerInstanceId: inst, startedBy: "me", cpu: "256", memory: "512" });
    expect(task.containers).toEqual([expect.objectContaining({ name: "web", image: "nginx", lastStatus: "PENDING" })]);
    expect(t.desiredChanges).toEqual([inst]);
    const ci = (await t.request("GET", `/v1/clusters/edge/container-instances/${inst}`)).body.containerInstance;
    expect([resourceInteger(ci.remainingResources, "CPU"), resourceInteger(ci.remainingResources, "MEMORY")]).toEqual([768, 512]);
    expect(ci.pendingTasksCount).toBe(1);
  });

  test("a task that fits nowhere gets a failures[] entry with ECS's reason, and nothing is written", async () => {
    await addInstance(t, "edge", { cpu: 1024, memory: 256 });
    const res = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" });
    expect(res.body.tasks).toEqual([]);
    expect(res.body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:MEMORY" })]);
    expect((await t.request("GET", "/v1/clusters/edge/tasks")).body.tasks).toEqual([]);
    expect(t.desiredChanges).toEqual([]);
  });

  test("count places several tasks and reports one failure per task that does not fit", async () => {
    await addInstance(t, "edge", { cpu: 4096, memory: 1100 });
    const res = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver", count: 3 });
    expect(res.body.tasks).toHaveLength(2);
    expect(res.body.failures).toHaveLength(1);
    expect(res.body.failures[0].reason).toBe("RESOURCE:MEMORY");
  });

  test("RunTask placement inputs: spread over instances, binpack, and memberOf errors as 400 with the position", async () => {
    const a = await addInstance(t, "edge", { cpu: 4096, memory: 4096 }, { zone: "a" });
    const b = await addInstance(t, "edge", { cpu: 4096, memory: 4096 }, { zone: "b" });
    const spread = await t.request("POST", "/v1/clusters/edge/tasks", {
      taskDefinition: "webserver",
      count: 4,
      placementStrategy: [{ type: "spread", field: "attribute:zone" }],
    });
    const perInstance = (tasks: any[]) => tasks.reduce((m: Record<string, number>, x) => ((m[x.containerInstanceId] = (m[x.containerInstanceId] ?? 0) + 1), m), {});
    expect(perInstance(spread.body.tasks)).toEqual({ [a]: 2, [b]: 2 });

    const pinned = await t.request("POST", "/v1/clusters/edge/tasks", {
      taskDefinition: "webserver",
      count: 2,
      placementConstraints: [{ type: "memberOf", expression: "attribute:zone == b" }],
    });
    expect(perInstance(pinned.body.tasks)).toEqual({ [b]: 2 });

    const bad = await t.request("POST", "/v1/clusters/edge/tasks", {
      taskDefinition: "webserver",
      placementConstraints: [{ type: "memberOf", expression: "attribute:zone ==" }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("placementConstraints[0].expression");
    expect(bad.body.error.message).toMatch(/position \d+/);
  });

  test("an IMPAIRED instance gets no new tasks until it reports OK again", async () => {
    const inst = await addInstance(t, "edge");
    const { applyHealth } = await import("../../../control/ops/instances.ts");
    const health = (overallStatus: "OK" | "IMPAIRED") => ({
      overallStatus,
      details: [{ type: "DISK_SPACE" as const, status: overallStatus, lastStatusChange: Date.now() }],
      metrics: {},
      checkedAt: Date.now(),
    });
    // Warm the placement index first, so the test sees the change notification, not a fresh load.
    expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks).toHaveLength(1);
    await applyHealth(t.ctx, inst, health("IMPAIRED") as any);
    const refused = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" });
    expect(refused.body.tasks).toEqual([]);
    expect(refused.body.failures[0].reason).toBe("AGENT");
    await applyHealth(t.ctx, inst, health("OK") as any);
    expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks).toHaveLength(1);
  });

  test("disconnected instances get no tasks", async () => {
    const inst = await addInstance(t, "edge");
    const { applyPresence } = await import("../../../control/ops/instances.ts");
    await applyPresence(t.ctx, inst, { connected: false, epoch: 1 });
    const res = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" });
    expect(res.body.failures[0].reason).toBe("AGENT");
  });

  test("bad RunTask input is a 400 naming the field; unknown definitions and clusters are 404", async () => {
    const bad = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver", count: 11 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("count");
    expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "nope" })).status).toBe(404);
    expect((await t.request("POST", "/v1/clusters/nope/tasks", { taskDefinition: "webserver" })).status).toBe(404);
  });

  test("50 concurrent RunTask calls against a nearly full cluster never oversubscribe an instance", async () => {
    await addInstance(t, "edge", { cpu: 8192, memory: 512 * 5 });
    await addInstance(t, "edge", { cpu: 8192, memory: 512 * 3 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })),
    );
    const placed = results.flatMap((r) => r.body.tasks);
    expect(placed).toHaveLength(8);
    expect(results.flatMap((r) => r.body.failures)).toHaveLength(42);
    const instances = (await t.request("GET", "/v1/clusters/edge/container-instances")).body.containerInstances;
    for (const i of instances) expect(resourceInteger(i.remainingResources, "MEMORY")).toBe(0);
  });
});

describe("task lifecycle from agent reports", () => {
  test("status only moves forward; a STOPPED report releases the reservation once", async () => {
    const inst = await addInstance(t, "edge", { cpu: 1024, memory: 1024 });
    const task = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks[0];
    const running = { taskId: task.taskId, knownStatus: "RUNNING" as const, containers: [{ name: "web", image: "nginx", status: "RUNNING" as const, runtimeId: "abc" }] };
    await applyReport(t.ctx, inst, report(inst, 1, [running]));
    let got = (await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task;
    expect(got.lastStatus).toBe("RUNNING");
    expect(got.containers[0]).toMatchObject({ lastStatus: "RUNNING", runtimeId: "abc" });
    expect(got.startedAt).toBeString();

    // A stale PENDING report changes nothing.
    await applyReport(t.ctx, inst, report(inst, 2, [{ ...running, knownStatus: "PENDING" }]));
    expect((await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task.lastStatus).toBe("RUNNING");

    const stopped = {
      taskId: task.taskId,
      knownStatus: "STOPPED" as const,
      stoppedReason: "Essential container in task exited",
      stopCode: "EssentialContainerExited",
      containers: [{ name: "web", image: "nginx", status: "STOPPED" as const, runtimeId: "abc", exitCode: 3 }],
    };
    await applyReport(t.ctx, inst, report(inst, 3, [stopped]));
    await applyReport(t.ctx, inst, report(inst, 4, [stopped]));
    got = (await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task;
    expect(got).toMatchObject({ lastStatus: "STOPPED", desiredStatus: "STOPPED", stoppedReason: "Essential container in task exited", stopCode: "EssentialContainerExited" });
    expect(got.containers[0].exitCode).toBe(3);
    const ci = (await t.request("GET", `/v1/clusters/edge/container-instances/${inst}`)).body.containerInstance;
    expect([resourceInteger(ci.remainingResources, "CPU"), resourceInteger(ci.remainingResources, "MEMORY")]).toEqual([1024, 1024]);
  });

  test("task health is stored from the containers' reports by ECS's rule; a stopped container never shows HEALTHY", async () => {
    const check = { command: ["CMD-SHELL", "true"] };
    await t.request("POST", "/v1/task-definitions", {
      family: "checked",
      containerDefinitions: [
        { name: "app", image: "nginx", memory: 64, healthCheck: check },
        { name: "side", image: "nginx", memory: 64, essential: false, healthCheck: check },
      ],
    });
    const inst = await addInstance(t, "edge");
    const task = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "checked" })).body.tasks[0];
    const shown = async () => (await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task;
    const containers = (app: string, side: string, status: "RUNNING" | "STOPPED" = "RUNNING") => [
      { name: "app", image: "nginx", status, essential: true, healthStatus: app as "HEALTHY" },
      { name: "side", image: "nginx", status, essential: false, healthStatus: side as "HEALTHY" },
    ];
    // The task-level field the agent sends is not what counts: the containers are.
    await applyReport(t.ctx, inst, report(inst, 1, [{ taskId: task.taskId, knownStatus: "RUNNING", healthStatus: "HEALTHY", containers: containers("UNKNOWN", "HEALTHY") }]));
    expect((await shown()).healthStatus).toBe("UNKNOWN");
    // A non-essential container's failing check does not make the task UNHEALTHY.
    await applyReport(t.ctx, inst, report(inst, 2, [{ taskId: task.taskId, knownStatus: "RUNNING", containers: containers("HEALTHY", "UNHEALTHY") }]));
    let got = await shown();
    expect(got.healthStatus).toBe("HEALTHY");
    expect(got.containers.map((c: any) => c.healthStatus)).toEqual(["HEALTHY", "UNHEALTHY"]);
    // Health flips both ways while running.
    await applyReport(t.ctx, inst, report(inst, 3, [{ taskId: task.taskId, knownStatus: "RUNNING", containers: containers("UNHEALTHY", "HEALTHY") }]));
    expect((await shown()).healthStatus).toBe("UNHEALTHY");
    await applyReport(t.ctx, inst, report(inst, 4, [{ taskId: task.taskId, knownStatus: "RUNNING", containers: containers("HEALTHY", "HEALTHY") }]));
    expect((await shown()).healthStatus).toBe("HEALTHY");
    // Stopped with the last reading still HEALTHY: Docker (and so ECS) says UNHEALTHY.
    await applyReport(t.ctx, inst, report(inst, 5, [{ taskId: task.taskId, knownStatus: "STOPPED", containers: containers("HEALTHY", "HEALTHY", "STOPPED") }]));
    got = await shown();
    expect(got.containers.map((c: any) => [c.lastStatus, c.healthStatus])).toEqual([
      ["STOPPED", "UNHEALTHY"],
      ["STOPPED", "UNHEALTHY"],
    ]);
    expect(got.healthStatus).toBe("UNHEALTHY");
  });

  test("a report naming another instance's task is ignored", async () => {
    const a = await addInstance(t, "edge");
    const b = await addInstance(t, "edge");
    const task = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks[0];
    const other = task.containerInstanceId === a ? b : a;
    const out = await applyReport(t.ctx, other, report(other, 1, [{ taskId: task.taskId, knownStatus: "STOPPED", containers: [] }]));
    expect(out).toEqual({ applied: 0, foreign: 1 });
    expect((await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task.lastStatus).toBe("PROVISIONING");
  });

  test("StopTask sets desired STOPPED with the reason; listing filters by desired status", async () => {
    await addInstance(t, "edge");
    const task = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks[0];
    const res = await t.request("POST", `/v1/clusters/edge/tasks/${task.taskId}/stop`, { reason: "maintenance" });
    expect(res.body.task).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: "maintenance", stopCode: "UserInitiated" });
    expect((await t.request("GET", "/v1/clusters/edge/tasks")).body.tasks).toEqual([]);
    expect((await t.request("GET", "/v1/clusters/edge/tasks?desiredStatus=STOPPED")).body.tasks).toHaveLength(1);
    expect((await t.request("GET", "/v1/clusters/edge/tasks?desiredStatus=BOGUS")).status).toBe(400);
    expect((await t.request("POST", `/v1/clusters/edge/tasks/nope/stop`, {})).status).toBe(404);
  });
});

describe("RunTask and StartTask options over REST (the same operations as the AWS JSON door)", () => {
  test("overrides, clientToken and StartTask's exact placement", async () => {
    const a = await addInstance(t, "edge", { cpu: 2048, memory: 2048 });
    const b = await addInstance(t, "edge", { cpu: 2048, memory: 2048 });
    const body = { taskDefinition: "webserver", clientToken: "rest-1", overrides: { containerOverrides: [{ name: "web", command: ["nginx", "-g", "daemon off;"] }] } };
    const first = await t.request("POST", "/v1/clusters/edge/tasks", body);
    expect(first.status).toBe(201);
    expect(first.body.tasks[0].overrides.containerOverrides[0].command).toEqual(["nginx", "-g", "daemon off;"]);
    const again = await t.request("POST", "/v1/clusters/edge/tasks", body);
    expect(again.body.tasks.map((x: any) => x.taskArn)).toEqual([first.body.tasks[0].taskArn]);
    const started = await t.request("POST", "/v1/clusters/edge/tasks/start", { taskDefinition: "webserver", containerInstances: [b, a] });
    expect(started.status).toBe(201);
    expect(started.body.tasks.map((x: any) => x.containerInstanceId)).toEqual([b, a]);
    const audit = (await t.request("GET", "/v1/audit")).body.entries.map((e: any) => e.action);
    expect(audit).toContain("StartTask");
  });
});
