import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { containerInstances, tasks } from "../../../control/db/schema.ts";
import { FencedOut } from "../../../control/leader/fence.ts";
import { fencedContext } from "../../../control/leader/fenced-context.ts";
import { acquireLease, type Fence } from "../../../control/leader/lease.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import { createCluster } from "../../../control/ops/clusters.ts";
import { registerTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { releaseReservation, runTask } from "../../../control/ops/tasks.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { rejection } from "../../helpers/rejection.ts";

// Reserve (the placement commit), release and the index's reads have one implementation, the
// placement store's; a single-process control, an HA follower and the HA leader all run it. Only
// the leader's handle carries a fence, which the commit worker proves inside each write's own
// transaction. `writesRun` counts the writes the commit worker answered: a second implementation
// (say, leader writes through the libSQL client again) would leave it unchanged.
let t: TestOps;
let inst: string;
let fence: Fence | null;
let leader: OpsContext;

beforeEach(async () => {
  t = await createTestOps();
  await createCluster(t.ctx, { clusterName: "c" });
  await registerTaskDefinition(t.ctx, { ...WEBSERVER, requiresCompatibilities: ["EXTERNAL"] });
  // Room for exactly four 512 MiB tasks.
  inst = await addInstance(t, "c", { cpu: 4096, memory: 2048 });
  fence = await acquireLease(t.db.db, "control-leader", "a", 1000, Date.now());
  leader = fencedContext(t.ctx, () => fence);
});
afterEach(() => t.close());

const instance = async () => (await t.ctx.db.select().from(containerInstances).where(eq(containerInstances.id, inst)).get())!;
const taskRow = async (id: string) => (await t.ctx.db.select().from(tasks).where(eq(tasks.id, id)).get())!;
/** Another control process takes the lease over: the leader context's fence no longer matches. */
const deposed = () => acquireLease(t.db.db, "control-leader", "b", 1000, Date.now() + 5000);

describe("one placement store for every context", () => {
  test("single-process, wrapped and leader contexts commit and release through the same worker", async () => {
    expect(leader.placement.isFenced).toBe(true);
    expect(t.ctx.placement.isFenced).toBe(false);
    let writes = t.ctx.placement.writesRun;
    const wrapped: OpsContext = { ...t.ctx, db: new Proxy(t.ctx.db, {}) };
    const placed = [];
    for (const ctx of [t.ctx, wrapped, leader]) {
      const run = await runTask(ctx, "c", { taskDefinition: "webserver" });
      expect(run.tasks).toHaveLength(1);
      expect(t.ctx.placement.writesRun).toBe(++writes);
      placed.push(run.tasks[0]!);
    }
    expect((await instance()).usedMemory).toBe(3 * 512);
    for (const [i, ctx] of [t.ctx, wrapped, leader].entries()) {
      await releaseReservation(ctx, await taskRow(placed[i]!.id));
      expect(t.ctx.placement.writesRun).toBe(++writes);
    }
    expect(await instance()).toMatchObject({ usedMemory: 0, usedCpu: 0 });
  });

  test("a deposed leader's commit is refused inside the worker's transaction, next to a follower's that commits", async () => {
    await runTask(t.ctx, "c", { taskDefinition: "webserver" });
    await deposed();
    const writes = t.ctx.placement.writesRun;
    // Submitted together, so usually written in one transaction: each job is all or nothing.
    const [refused, follower] = await Promise.all([rejection(runTask(leader, "c", { taskDefinition: "webserver", count: 2 })), runTask(t.ctx, "c", { taskDefinition: "webserver" })]);
    expect(refused).toBeInstanceOf(FencedOut);
    expect(follower.tasks).toHaveLength(1);
    expect(t.ctx.placement.writesRun).toBe(writes + 2);
    expect(await t.ctx.db.select().from(tasks).all()).toHaveLength(2);
    expect((await instance()).usedMemory).toBe(2 * 512);
    // The refused placement left no reservation behind in the index either: the two free slots are placeable.
    expect((await runTask(t.ctx, "c", { taskDefinition: "webserver", count: 2 })).tasks).toHaveLength(2);
    expect((await instance()).usedMemory).toBe(4 * 512);
  });

  test("a deposed leader's release is refused and the reservation stays until someone else releases it", async () => {
    const task = (await runTask(t.ctx, "c", { taskDefinition: "webserver" })).tasks[0]!;
    await deposed();
    const writes = t.ctx.placement.writesRun;
    expect(await rejection(releaseReservation(leader, await taskRow(task.id)))).toBeInstanceOf(FencedOut);
    expect(t.ctx.placement.writesRun).toBe(writes + 1);
    expect((await instance()).usedMemory).toBe(512);
    expect((await taskRow(task.id)).reserved).toBe(true);
    await releaseReservation(t.ctx, await taskRow(task.id));
    expect((await instance()).usedMemory).toBe(0);
    expect((await taskRow(task.id)).reserved).toBe(false);
  });

  test("a leader context with no lease at hand is refused before anything is written", async () => {
    const task = (await runTask(t.ctx, "c", { taskDefinition: "webserver" })).tasks[0]!;
    fence = null;
    const writes = t.ctx.placement.writesRun;
    expect(await rejection(runTask(leader, "c", { taskDefinition: "webserver" }))).toBeInstanceOf(FencedOut);
    expect(await rejection(releaseReservation(leader, await taskRow(task.id)))).toBeInstanceOf(FencedOut);
    expect(t.ctx.placement.writesRun).toBe(writes);
    expect(await t.ctx.db.select().from(tasks).all()).toHaveLength(1);
    expect((await instance()).usedMemory).toBe(512);
  });
});
