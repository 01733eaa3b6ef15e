import { afterEach, describe, expect, test } from "bun:test";
import type { Report } from "../../../shared/messages.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import { ServiceScheduler } from "../../../control/services/scheduler.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * ECS refuses to start anything new from an INACTIVE (deregistered) revision named explicitly —
 * RunTask, CreateService, UpdateService answer ClientException "TaskDefinition is inactive" —
 * while services already on it keep running it, replacements included.
 */
const C = "inactive";
const WEB = { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true }] };
const WEB_2 = { ...WEB, containerDefinitions: [{ ...WEB.containerDefinitions[0]!, environment: [{ name: "V", value: "2" }] }] };

class ManualClock {
  t = 1_700_000_000_000;
  now = () => this.t;
}

let t: TestOps;
afterEach(() => t?.close());

async function setup() {
  const clock = new ManualClock();
  t = await createTestOps(clock);
  expect((await t.request("POST", "/v1/clusters", { clusterName: C })).status).toBe(201);
  const instanceId = await addInstance(t, C);
  expect((await t.request("POST", "/v1/task-definitions", WEB)).status).toBe(201);
  expect((await t.request("POST", "/v1/task-definitions", WEB_2)).status).toBe(201);
  expect((await t.request("DELETE", "/v1/task-definitions/web:1")).body.taskDefinition.status).toBe("INACTIVE");
  return { clock, instanceId };
}

const INACTIVE = {
  error: {
    code: "ClientException",
    message: "TaskDefinition is inactive",
    fields: [{ path: "taskDefinition", message: "web:1 is INACTIVE" }],
  },
};

describe("an INACTIVE revision named explicitly", () => {
  test("RunTask refuses it, by family:revision and by ARN; the family alone runs the latest ACTIVE one", async () => {
    await setup();
    expect(await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "web:1" })).toEqual({ status: 400, body: INACTIVE });
    const arn = (await t.request("GET", "/v1/task-definitions/web:1")).body.taskDefinition.taskDefinitionArn;
    expect(await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: arn })).toEqual({ status: 400, body: INACTIVE });
    const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "web" });
    expect(run.status).toBe(201);
    expect(run.body.tasks[0].taskDefinitionArn).toEndWith("task-definition/web:2");
  });

  test("CreateService and UpdateService refuse it; the service stays as it was", async () => {
    await setup();
    expect(await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "a", taskDefinition: "web:1", desiredCount: 1 })).toEqual({ status: 400, body: INACTIVE });
    expect((await t.request("GET", `/v1/clusters/${C}/services/a`)).status).toBe(404);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "b", taskDefinition: "web:2", desiredCount: 1 })).status).toBe(201);
    expect(await t.request("PATCH", `/v1/clusters/${C}/services/b`, { taskDefinition: "web:1" })).toEqual({ status: 400, body: INACTIVE });
    const svc = (await t.request("GET", `/v1/clusters/${C}/services/b`)).body.service;
    expect(svc.taskDefinition).toEndWith("task-definition/web:2");
    expect(svc.deployments).toHaveLength(1);
  });
});

/** Plays the agent through the report path: each desired task reported as `status(task)` says. */
async function report(instanceId: string, status: (taskId: string, desired: "RUNNING" | "STOPPED") => "RUNNING" | "STOPPED", seq: number) {
  const desired = (await nextDesiredState(t.ctx, instanceId, false))!;
  const tasks: Report["tasks"] = desired.tasks.map((d) => {
    const s = status(d.taskId, d.desiredStatus);
    const failed = s === "STOPPED" && d.desiredStatus === "RUNNING";
    return {
      taskId: d.taskId,
      knownStatus: s,
      ...(failed ? { stoppedReason: "Essential container in task exited", stopCode: "EssentialContainerExited" } : {}),
      containers: [{ name: "web", image: "nginx", status: s, essential: true, ...(s === "STOPPED" ? { exitCode: failed ? 1 : 0 } : {}) }],
    };
  });
  await applyReports(t.ctx, [{ instanceId, report: { instanceId, bootId: "boot", seq, generation: desired.generation, sentAt: Date.now(), tasks } }]);
}

describe("a service already on a revision deregistered afterwards", () => {
  test("keeps running it and replaces a task that stopped, with the same revision", async () => {
    const { clock, instanceId } = await setup();
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "svc", taskDefinition: "web:2", desiredCount: 2 })).status).toBe(201);
    const scheduler = new ServiceScheduler(t.ctx);
    await scheduler.runOnce();
    await report(instanceId, (_, d) => d, 1);
    clock.t += 1000;
    await scheduler.runOnce();
    let svc = (await t.request("GET", `/v1/clusters/${C}/services/svc`)).body.service;
    expect(svc).toMatchObject({ runningCount: 2, desiredCount: 2 });

    expect((await t.request("DELETE", "/v1/task-definitions/web:2")).body.taskDefinition.status).toBe("INACTIVE");
    const before = (await t.request("GET", `/v1/clusters/${C}/tasks`)).body.tasks as any[];
    const victim = before[0].taskArn.split("/").pop();
    await report(instanceId, (id, d) => (id === victim ? "STOPPED" : d), 2);
    clock.t += 1000;
    await scheduler.runOnce();

    const after = (await t.request("GET", `/v1/clusters/${C}/tasks`)).body.tasks as any[];
    expect(after).toHaveLength(2);
    expect(after.map((x) => x.taskArn)).not.toContain(before[0].taskArn);
    expect(after.every((x) => x.taskDefinitionArn.endsWith("task-definition/web:2"))).toBe(true);
    svc = (await t.request("GET", `/v1/clusters/${C}/services/svc`)).body.service;
    expect(svc.taskDefinition).toEndWith("task-definition/web:2");
    expect(svc.events.map((e: any) => e.message).some((m: string) => m.startsWith("(service svc) has started 1 tasks"))).toBe(true);
  });
});
