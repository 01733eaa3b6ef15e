import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { containerInstances, tasks } from "../../../control/db/schema.ts";
import { applyReport } from "../../../control/ops/reports.ts";
import { releaseReservation } from "../../../control/ops/tasks.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

// The release of a stopped task's reservation (the placement store's, on the commit worker):
// exactly once per task, ports included.
let t: TestOps;
let inst: string;

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  inst = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  const web = {
    family: "web",
    networkMode: "bridge",
    containerDefinitions: [{ name: "web", image: "nginx", cpu: 100, memory: 200, portMappings: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 5353, protocol: "udp" }] }],
  };
  expect((await t.request("POST", "/v1/task-definitions", web)).status).toBe(201);
  const plain = { family: "plain", containerDefinitions: [{ name: "app", image: "nginx", cpu: 100, memory: 200 }] };
  expect((await t.request("POST", "/v1/task-definitions", plain)).status).toBe(201);
});
afterEach(() => t.close());

const instance = async () => (await t.ctx.db.select().from(containerInstances).where(eq(containerInstances.id, inst)).get())!;

test("a released task gives back its cpu, memory and ports once, and bumps the instance's version", async () => {
  const task = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "web" })).body.tasks[0];
  const row = (await t.ctx.db.select().from(tasks).where(eq(tasks.id, task.taskId)).get())!;
  const before = await instance();
  expect(before).toMatchObject({ usedCpu: 100, usedMemory: 200, usedPorts: { tcp: [8080], udp: [5353] } });

  const version = await t.ctx.placement.release(row);
  expect(version).toBe(before.version + 1);
  expect(await instance()).toMatchObject({ usedCpu: 0, usedMemory: 0, usedPorts: { tcp: [], udp: [] }, version: before.version + 1 });
  expect((await t.ctx.db.select().from(tasks).where(eq(tasks.id, row.id)).get())!.reserved).toBe(false);

  // A second release (a duplicate STOPPED report) changes nothing.
  expect(await t.ctx.placement.release(row)).toBeNull();
  await releaseReservation(t.ctx, row);
  expect(await instance()).toMatchObject({ usedCpu: 0, usedMemory: 0, version: before.version + 1 });
});

test("releasing one task keeps the ports of the others", async () => {
  const other = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  const placed = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "web", count: 2 })).body.tasks;
  expect(placed).toHaveLength(2);
  const onInst = placed.find((p: any) => p.containerInstanceArn.endsWith(inst));
  const row = (await t.ctx.db.select().from(tasks).where(eq(tasks.id, onInst.taskId)).get())!;
  await releaseReservation(t.ctx, row);
  expect((await instance()).usedPorts).toEqual({ tcp: [], udp: [] });
  const kept = (await t.ctx.db.select().from(containerInstances).where(eq(containerInstances.id, other)).get())!;
  expect(kept.usedPorts).toEqual({ tcp: [8080], udp: [5353] });
});

test("one report stopping several tasks releases each once, and a repeat of it releases nothing", async () => {
  const placed = (await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "plain", count: 4 })).body.tasks;
  expect(placed).toHaveLength(4);
  expect((await instance()).usedMemory).toBe(4 * 200);
  const stopped = placed.slice(0, 3).map((p: any) => ({
    taskId: p.taskId,
    knownStatus: "STOPPED" as const,
    stoppedReason: "Essential container in task exited",
    stopCode: "EssentialContainerExited",
    containers: [{ name: "app", image: "nginx", status: "STOPPED" as const, exitCode: 0 }],
  }));
  const report = (seq: number) => ({ instanceId: inst, bootId: "b", seq, generation: 1, sentAt: Date.now(), tasks: stopped });
  await applyReport(t.ctx, inst, report(1));
  expect(await instance()).toMatchObject({ usedCpu: 100, usedMemory: 200 });
  const version = (await instance()).version;
  await applyReport(t.ctx, inst, report(2));
  expect(await instance()).toMatchObject({ usedCpu: 100, usedMemory: 200, version });
  // The index saw the releases too: the three freed places take three new tasks on this instance.
  expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "plain", count: 3 })).body.tasks).toHaveLength(3);
  expect((await instance()).usedMemory).toBe(4 * 200);
});
