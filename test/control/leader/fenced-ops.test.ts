import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { tasks } from "../../../control/db/schema.ts";
import { FencedOut } from "../../../control/leader/fence.ts";
import { fencedContext } from "../../../control/leader/fenced-context.ts";
import { LeaderDuties } from "../../../control/leader/duties.ts";
import { acquireLease, type Fence } from "../../../control/leader/lease.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import { createCluster } from "../../../control/ops/clusters.ts";
import { registerTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { runTask, stopTask } from "../../../control/ops/tasks.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { rejection } from "../../helpers/rejection.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await createCluster(t.ctx, { clusterName: "c" });
  await registerTaskDefinition(t.ctx, { ...WEBSERVER, requiresCompatibilities: ["EXTERNAL"] });
  await addInstance(t, "c");
});
afterEach(() => t.close());

describe("operations under a fenced context", () => {
  test("the leader's operations work unchanged; a deposed one's write nothing", async () => {
    let fence: Fence | null = await acquireLease(t.db.db, "control-leader", "a", 1000, Date.now());
    const leaderCtx: OpsContext = fencedContext(t.ctx, () => fence);
    const run = await runTask(leaderCtx, "c", { taskDefinition: "webserver", count: 2 });
    expect(run.tasks).toHaveLength(2);
    const stopped = await stopTask(leaderCtx, "c", run.tasks[0]!.id, { reason: "test" });
    expect(stopped.desiredStatus).toBe("STOPPED");

    // Another process took the lease over: the same context now writes nothing.
    await acquireLease(t.db.db, "control-leader", "b", 1000, Date.now() + 5000);
    expect(await rejection(runTask(leaderCtx, "c", { taskDefinition: "webserver" }))).toBeInstanceOf(FencedOut);
    expect(await rejection(stopTask(leaderCtx, "c", run.tasks[1]!.id, { reason: "late" }))).toBeInstanceOf(FencedOut);
    fence = null;
    expect(await rejection(runTask(leaderCtx, "c", { taskDefinition: "webserver" }))).toBeInstanceOf(FencedOut);
    const rows = await t.ctx.db.select().from(tasks).all();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.id === run.tasks[1]!.id)!.desiredStatus).toBe("RUNNING");
  });
});

describe("LeaderDuties", () => {
  test("starts duties on election with the given context, stops them on deposition, in order", async () => {
    const duties = new LeaderDuties();
    const seen: string[] = [];
    duties.add("one", (ctx) => {
      seen.push(`start one ${ctx === t.ctx}`);
      return () => void seen.push("stop one");
    });
    expect(duties.running()).toEqual([]);
    await duties.start(t.ctx);
    duties.add("two", async () => {
      seen.push("start two");
      return async () => void seen.push("stop two");
    });
    await duties.start(t.ctx); // already leading: no second start
    expect(duties.running()).toEqual(["one", "two"]);
    await duties.stop();
    expect(duties.running()).toEqual([]);
    expect(seen).toEqual(["start one true", "start two", "stop one", "stop two"]);
    expect(() => duties.add("one", () => () => {})).toThrow("already registered");
  });
});
