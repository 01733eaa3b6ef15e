import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ContainerStatsStore, containerStatsSnapshot } from "../../control/container-stats.ts";
import { ReportBatcher } from "../../control/link/report-batcher.ts";
import { decodeMessage, statsMessageSchema, type StatsMessage } from "../../shared/messages.ts";
import { WEBSERVER } from "../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../helpers/ops.ts";

/**
 * The control's recent container stats (control/container-stats.ts) as GET task shows them: the
 * messages go through the link's own decoding (statsMessageSchema) into the store the link feeds;
 * the tasks reach RUNNING through the report path (ReportBatcher), as an agent's would.
 */
let t: TestOps;
let now = 1_000_000;
let store: ContainerStatsStore;
beforeEach(async () => {
  t = await createTestOps();
  store = new ContainerStatsStore({ samples: 3, maxAgeMs: 60_000, now: () => now });
  t.ctx.containerStats = store;
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await t.request("POST", "/v1/task-definitions", WEBSERVER);
});
afterEach(() => t.close());

let seq = 0;
async function runningTaskOn(instanceId: string): Promise<string> {
  const res = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver", placementConstraints: [{ type: "memberOf", expression: `attribute:ecs.instance-id == "${instanceId}"` }] });
  const taskId = res.body.tasks[0].taskId as string;
  await new ReportBatcher(t.ctx).apply(instanceId, {
    instanceId,
    bootId: "b",
    seq: ++seq,
    generation: 1,
    sentAt: Date.now(),
    tasks: [{ taskId, knownStatus: "RUNNING", containers: [{ name: "web", image: "nginx", status: "RUNNING", runtimeId: `c-${taskId}` }] }],
  });
  return taskId;
}

/** What the link does with a payload on flotilla/i/{instanceId}/stats. */
function publish(instanceId: string, message: StatsMessage) {
  const decoded = decodeMessage(statsMessageSchema, JSON.stringify(message));
  if (!decoded) throw new Error("the link would drop this message");
  store.apply(instanceId, decoded);
}

const task = async (id: string) => (await t.request("GET", `/v1/clusters/edge/tasks/${id}`)).body.task;
const MiB = 1024 * 1024;

describe("container stats kept by the control", () => {
  test("GET task shows the latest reading and the average over the last N kept (ring buffer), per container and for the task", async () => {
    const a = await addInstance(t, "edge", { cpu: 1024, memory: 1024 });
    const id = await runningTaskOn(a);
    expect((await task(id)).stats).toBeUndefined();
    // Four samples with a ring of three: the first falls out of the average.
    for (const [i, cpu] of [1000, 100, 200, 300].entries()) publish(a, { at: 1_780_000_000_000 + i * 30_000, tasks: { [id]: { web: [cpu, (i + 1) * 64 * MiB] } } });
    const v = await task(id);
    expect(v.containers[0].stats).toEqual({ cpuUtilized: 300, memoryUtilized: 256, cpuUtilizedAverage: 200, memoryUtilizedAverage: 192, sampledAt: new Date(1_780_000_090_000).toISOString(), samples: 3 });
    // Percentages are of the task's reservation (256 cpu units, 512 MiB).
    expect(v.stats).toMatchObject({ cpuUtilized: 300, memoryUtilized: 256, cpuUtilization: 117.2, memoryUtilization: 50, samples: 3 });
  });

  test("a task missing from its instance's next message is dropped; an unknown cpu stays unknown", async () => {
    const a = await addInstance(t, "edge", { cpu: 2048, memory: 2048 });
    const [one, two] = [await runningTaskOn(a), await runningTaskOn(a)];
    publish(a, { at: 1, tasks: { [one]: { web: [10, MiB] }, [two]: { web: [null, MiB] } } });
    expect((await task(two)).stats).toMatchObject({ memoryUtilized: 1 });
    expect((await task(two)).stats.cpuUtilized).toBeUndefined();
    publish(a, { at: 2, tasks: { [one]: { web: [20, MiB] } } });
    expect((await task(two)).stats).toBeUndefined();
    expect((await task(one)).stats).toMatchObject({ cpuUtilized: 20, samples: 2 });
    expect(containerStatsSnapshot(store)).toEqual([{ instanceId: a, taskId: one, container: "web", at: 2, cpuUnits: 20, memoryBytes: MiB }]);
  });

  test("an agent naming another host's task fills no reading of it; readings older than the maximum age are not shown", async () => {
    const [a, b] = [await addInstance(t, "edge", { cpu: 1024, memory: 1024 }), await addInstance(t, "edge", { cpu: 1024, memory: 1024 })];
    const id = await runningTaskOn(a);
    publish(b, { at: 1, tasks: { [id]: { web: [999, 999] } } });
    expect((await task(id)).stats).toBeUndefined();
    publish(a, { at: 1, tasks: { [id]: { web: [5, 5 * MiB] } } });
    expect((await task(id)).stats).toMatchObject({ cpuUtilized: 5, memoryUtilized: 5 });
    now += 60_001;
    expect((await task(id)).stats).toBeUndefined();
    expect(containerStatsSnapshot(store)).toEqual([]);
  });

  test("messages over the limits do not decode (the link drops them as malformed)", () => {
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`t${i}`, { web: [1, 1] }]));
    expect(decodeMessage(statsMessageSchema, JSON.stringify({ at: 1, tasks: many }))).toBeNull();
    const wide = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`c${i}`, [1, 1]]));
    expect(decodeMessage(statsMessageSchema, JSON.stringify({ at: 1, tasks: { t: wide } }))).toBeNull();
    expect(decodeMessage(statsMessageSchema, JSON.stringify({ at: 1, tasks: { t: { web: [-1, 1] } } }))).toBeNull();
    expect(decodeMessage(statsMessageSchema, JSON.stringify({ at: 1, tasks: { t: { web: [1, 1.5] } } }))).toBeNull();
  });
});
