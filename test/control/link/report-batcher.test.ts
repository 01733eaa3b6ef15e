import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { containerInstances } from "../../../control/db/schema.ts";
import { ReportBatcher } from "../../../control/link/report-batcher.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import type { Report } from "../../../shared/messages.ts";
import { resourceInteger } from "../../../shared/instance-resources.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/** Reports of many agents applied as one burst (control/link/report-batcher.ts, ops/reports.ts applyReports). */
let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await t.request("POST", "/v1/task-definitions", WEBSERVER);
});
afterEach(() => t.close());

const report = (instanceId: string, seq: number, generation: number, tasks: Report["tasks"]): Report => ({ instanceId, bootId: "b", seq, generation, sentAt: Date.now(), tasks });
const running = (taskId: string) => ({ taskId, knownStatus: "RUNNING" as const, containers: [{ name: "web", image: "nginx", status: "RUNNING" as const, runtimeId: `c-${taskId}` }] });
const stopped = (taskId: string) => ({
  taskId,
  knownStatus: "STOPPED" as const,
  stopCode: "EssentialContainerExited",
  stoppedReason: "Essential container in task exited",
  containers: [{ name: "web", image: "nginx", status: "STOPPED" as const, runtimeId: `c-${taskId}`, exitCode: 1 }],
});

async function runOn(instanceId: string): Promise<string> {
  const res = await t.request("POST", "/v1/clusters/edge/tasks", {
    taskDefinition: "webserver",
    placementConstraints: [{ type: "memberOf", expression: `attribute:ecs.instance-id == "${instanceId}"` }],
  });
  return res.body.tasks[0].taskId;
}

const task = async (id: string) => (await t.request("GET", `/v1/clusters/edge/tasks/${id}`)).body.task;

describe("reports applied in bursts", () => {
  test("a burst from several agents applies each in order, counts foreign tasks, and releases a stop once", async () => {
    const [a, b] = [await addInstance(t, "edge", { cpu: 1024, memory: 1024 }), await addInstance(t, "edge", { cpu: 1024, memory: 1024 })];
    const [ta, tb] = [await runOn(a), await runOn(b)];
    const batcher = new ReportBatcher(t.ctx);
    // Issued in one tick: one burst. a reports RUNNING then STOPPED; b reports a's task too.
    const outcomes = await Promise.all([
      batcher.apply(a, report(a, 1, 3, [running(ta)])),
      batcher.apply(b, report(b, 1, 5, [running(tb), running(ta)])),
      batcher.apply(a, report(a, 2, 4, [stopped(ta)])),
      batcher.apply(a, report(a, 3, 4, [stopped(ta)])),
    ]);
    expect(outcomes).toEqual([
      { applied: 1, foreign: 0 },
      { applied: 1, foreign: 1 },
      { applied: 1, foreign: 0 },
      { applied: 0, foreign: 0 },
    ]);
    expect(await task(ta)).toMatchObject({ lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "EssentialContainerExited" });
    expect((await task(ta)).startedAt).toBeString();
    expect(await task(tb)).toMatchObject({ lastStatus: "RUNNING" });
    const gens = await t.ctx.db.select({ id: containerInstances.id, g: containerInstances.reportedGeneration }).from(containerInstances).all();
    expect(Object.fromEntries(gens.map((r) => [r.id, r.g]))).toEqual({ [a]: 4, [b]: 5 });
    const ci = (await t.request("GET", `/v1/clusters/edge/container-instances/${a}`)).body.containerInstance;
    expect(resourceInteger(ci.remainingResources, "MEMORY")).toBe(1024);
    const seen = await t.ctx.db.select({ at: containerInstances.lastSeenAt }).from(containerInstances).where(eq(containerInstances.id, b)).get();
    expect(seen?.at).toBeNumber();
  });

  test("when a burst fails, its reports are applied one by one", async () => {
    const a = await addInstance(t, "edge");
    const ta = await runOn(a);
    let failNext = true;
    const flaky: OpsContext = {
      ...t.ctx,
      serialize: (fn) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error("database is locked"));
        }
        return t.ctx.serialize(fn);
      },
    };
    const batcher = new ReportBatcher(flaky);
    const [first, second] = await Promise.all([batcher.apply(a, report(a, 1, 1, [running(ta)])), batcher.apply(a, report(a, 2, 1, [stopped(ta)]))]);
    expect([first.applied, second.applied]).toEqual([1, 1]);
    expect((await task(ta)).lastStatus).toBe("STOPPED");
    await batcher.idle();
  });
});
