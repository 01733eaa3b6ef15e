import { afterEach, beforeEach, expect, test } from "bun:test";
import { createApi } from "../../../control/api/app.ts";
import { systemClock } from "../../../control/clock.ts";
import { openDatabase, type Database } from "../../../control/db/open.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { PlacementIndexCache } from "../../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../../control/scheduling/placement-store.ts";
import { resourceGpus } from "../../../shared/instance-resources.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { FakeAgents } from "../services/fake-agents.ts";

// GPUs as ECS places them: instances register GPU ids (through the registration op, as the agent's
// host facts carry them), a task needing N fits only where N are free (else RESOURCE:GPU), each
// container gets specific ids, and the ids come back when the task stops (through the report path).
let t: TestOps;

const GPUS = ["GPU-f3da2e71-6e43-729a-e3ae-f731ed96d50c", "GPU-15ea7bf9-1a0e-2d7f-9c62-c28e5ca1aaf1", "GPU-3dc4f2b0-6e1b-c088-c342-4367c334795a"];

const trainer = {
  family: "trainer",
  containerDefinitions: [
    { name: "learner", image: "busybox", memory: 64, resourceRequirements: [{ type: "GPU", value: "2" }] },
    { name: "sidecar", image: "busybox", memory: 32 },
  ],
};
const single = { family: "single", containerDefinitions: [{ name: "infer", image: "busybox", memory: 16, resourceRequirements: [{ type: "GPU", value: "1" }] }] };
const plain = { family: "plain", containerDefinitions: [{ name: "app", image: "busybox", memory: 16 }] };

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  for (const td of [trainer, single, plain]) expect((await t.request("POST", "/v1/task-definitions", td)).status).toBe(201);
});
afterEach(() => t.close());

const runTask = (taskDefinition: string, count = 1) => t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition, count });
const instanceView = async (id: string) => (await t.request("GET", `/v1/clusters/edge/container-instances/${id}`)).body.containerInstance;

test("the container instance lists its GPUs as ECS's GPU STRINGSET resource, registered and remaining", async () => {
  const inst = await addInstance(t, "edge", { cpu: 4096, memory: 4096, gpus: GPUS });
  const plainHost = await addInstance(t, "edge", { cpu: 4096, memory: 4096 });
  const ci = await instanceView(inst);
  expect(ci.registeredResources).toContainEqual({ name: "GPU", type: "STRINGSET", stringSetValue: GPUS, doubleValue: 0, longValue: 0 });
  expect(ci.remainingResources).toContainEqual({ name: "GPU", type: "STRINGSET", stringSetValue: GPUS, doubleValue: 0, longValue: 0 });
  // ECS lists no GPU resource on an instance without GPUs.
  expect((await instanceView(plainHost)).registeredResources.map((r: any) => r.name)).not.toContain("GPU");
});

test("a task needing more GPUs than any instance has free is refused with RESOURCE:GPU", async () => {
  await addInstance(t, "edge", { cpu: 4096, memory: 4096, gpus: GPUS.slice(0, 1) });
  await addInstance(t, "edge", { cpu: 4096, memory: 4096 });
  const res = await runTask("trainer");
  expect(res.body.tasks).toEqual([]);
  expect(res.body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:GPU" })]);
  // A task without GPUs still goes anywhere.
  expect((await runTask("plain", 2)).body.tasks).toHaveLength(2);
});

test("placement gives each container specific GPU ids, removes them from remainingResources and sends them in the desired set", async () => {
  const inst = await addInstance(t, "edge", { cpu: 4096, memory: 4096, gpus: GPUS });
  const res = await runTask("trainer");
  expect(res.status).toBe(201);
  const task = res.body.tasks[0];
  const learner = task.containers.find((c: any) => c.name === "learner");
  const sidecar = task.containers.find((c: any) => c.name === "sidecar");
  expect(learner.gpuIds).toEqual(GPUS.slice(0, 2));
  expect(sidecar.gpuIds).toBeUndefined();
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual(GPUS.slice(2));
  // DescribeTasks shows the same ids.
  const described = (await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task;
  expect(described.containers.find((c: any) => c.name === "learner").gpuIds).toEqual(GPUS.slice(0, 2));

  const desired = await nextDesiredState(t.ctx, inst, false);
  expect(desired!.tasks.find((d) => d.taskId === task.taskId)!.gpuIds).toEqual({ learner: GPUS.slice(0, 2) });

  // One GPU left: a second trainer does not fit, a single-GPU task takes the last one.
  expect((await runTask("trainer")).body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:GPU" })]);
  const last = (await runTask("single")).body.tasks[0];
  expect(last.containers[0].gpuIds).toEqual(GPUS.slice(2));
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual([]);
});

test("tasks of one RunTask on the same instance get different GPUs", async () => {
  await addInstance(t, "edge", { cpu: 4096, memory: 4096, gpus: GPUS });
  const res = await runTask("single", 3);
  expect(res.body.tasks).toHaveLength(3);
  const ids = res.body.tasks.map((task: any) => task.containers[0].gpuIds[0]);
  expect(new Set(ids).size).toBe(3);
  expect([...ids].sort()).toEqual([...GPUS].sort());
});

test("20 concurrent RunTask calls never give one GPU to two tasks", async () => {
  const a = await addInstance(t, "edge", { cpu: 8192, memory: 8192, gpus: GPUS });
  const b = await addInstance(t, "edge", { cpu: 8192, memory: 8192, gpus: GPUS.slice(0, 2).map((id) => id.replace("GPU-", "GPU-b")) });
  const results = await Promise.all(Array.from({ length: 20 }, () => runTask("single")));
  const placed = results.flatMap((r) => r.body.tasks);
  expect(placed).toHaveLength(5);
  expect(results.flatMap((r) => r.body.failures).map((f: any) => f.reason)).toEqual(Array(15).fill("RESOURCE:GPU"));
  const held = placed.map((task: any) => `${task.containerInstanceId}/${task.containers[0].gpuIds[0]}`);
  expect(new Set(held).size).toBe(5);
  for (const id of [a, b]) expect(resourceGpus((await instanceView(id)).remainingResources)).toEqual([]);
});

test("a stopped task's GPUs go back to the instance once its agent reports it STOPPED", async () => {
  const inst = await addInstance(t, "edge", { cpu: 4096, memory: 4096, gpus: GPUS });
  const agents = new FakeAgents(t.ctx, "edge", () => Date.now());
  const task = (await runTask("trainer")).body.tasks[0];
  await agents.sync();
  expect((await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task.lastStatus).toBe("RUNNING");
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual(GPUS.slice(2));

  expect((await t.request("POST", `/v1/clusters/edge/tasks/${task.taskId}/stop`, {})).status).toBe(200);
  // Asked to stop, the task still holds its GPUs until the agent says it stopped.
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual(GPUS.slice(2));
  await agents.sync();
  expect((await t.request("GET", `/v1/clusters/edge/tasks/${task.taskId}`)).body.task.lastStatus).toBe("STOPPED");
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual(GPUS);
  // The placement index saw the release too: the same GPUs are offered again.
  expect((await runTask("trainer")).body.tasks[0].containers[0].gpuIds).toEqual(GPUS.slice(0, 2));
});

// Two control processes on one database file, each with its own stale index (as in
// start-tasks-two-controls.test.ts): only the commit's version check keeps them from handing out
// the same GPU, because the GPUs are part of the instance's versioned resources.
let second: Database | undefined;
afterEach(() => {
  second?.close();
  second = undefined;
});

test("two controls placing on stale indexes never hand out the same GPU", async () => {
  const file = (await t.db.client.execute("PRAGMA database_list")).rows.find((r) => r.name === "main")!.file as string;
  second = await openDatabase(`file:${file}`);
  const placement = PlacementStore.open(second);
  const ctx: OpsContext = {
    db: second.db,
    clock: systemClock,
    serialize: t.ctx.serialize,
    desiredChanged: () => {},
    indexes: new PlacementIndexCache(placement, systemClock),
    placement,
  };
  const app = createApi(ctx);
  const runOnB = async () => {
    const res = await app.request("/v1/clusters/edge/tasks", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ taskDefinition: "single" }),
    });
    return (await res.json()) as any;
  };
  const inst = await addInstance(t, "edge", { cpu: 8192, memory: 8192, gpus: GPUS });
  await t.ctx.indexes.get("edge");
  await ctx.indexes.get("edge");
  // The first control takes GPU 0; the second control's index still believes all three are free.
  const first = (await runTask("single")).body.tasks[0];
  expect(first.containers[0].gpuIds).toEqual(GPUS.slice(0, 1));
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? runTask("single").then((r) => r.body) : runOnB())));
  const placed = [first, ...results.flatMap((r) => r.tasks)];
  expect(placed).toHaveLength(3);
  expect(new Set(placed.map((task: any) => task.containers[0].gpuIds[0])).size).toBe(3);
  expect(resourceGpus((await instanceView(inst)).remainingResources)).toEqual([]);
});
