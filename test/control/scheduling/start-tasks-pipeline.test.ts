import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { containerInstances } from "../../../control/db/schema.ts";
import { releaseReservation } from "../../../control/ops/tasks.ts";
import { resolveTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { startTasks } from "../../../control/scheduling/start-tasks.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

// startTasks through the commit pipeline, many callers at once: placements booked in the index
// before their commit is written, conflicts placed again, stopped tasks returned in place.
let t: TestOps;

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await t.request("POST", "/v1/task-definitions", { family: "small", containerDefinitions: [{ name: "main", image: "nginx", cpu: 10, memory: 100 }] });
});
afterEach(() => t.close());

const run = async (count: number, group = "family:small") =>
  startTasks(t.ctx, { clusterName: "edge", taskDefinition: await resolveTaskDefinition(t.ctx, "small"), count, group });

async function instanceRows() {
  return t.ctx.db.select().from(containerInstances).all();
}

test("40 concurrent RunTask calls of 3 fill the cluster exactly: every task placed once, none beyond capacity", async () => {
  for (let i = 0; i < 4; i++) await addInstance(t, "edge", { cpu: 10_000, memory: 1000 });
  const results = await Promise.all(Array.from({ length: 40 }, () => run(3)));
  const placed = results.flatMap((r) => r.tasks);
  expect(placed).toHaveLength(40);
  expect(results.flatMap((r) => r.failures)).toHaveLength(80);
  for (const r of results) expect(r.tasks.length + r.failures.length).toBe(3);
  for (const row of await instanceRows()) {
    expect(row.usedMemory).toBe(1000);
    expect(placed.filter((p) => p.instanceId === row.id)).toHaveLength(10);
  }
});

test("a row changed behind the index's back makes the commit conflict; the task is placed again on fresh data", async () => {
  const a = await addInstance(t, "edge", { cpu: 10_000, memory: 300 });
  expect((await run(1)).tasks).toHaveLength(1);
  // Another control takes 100 MiB on the instance without telling this one.
  await t.ctx.db
    .update(containerInstances)
    .set({ usedMemory: sql`${containerInstances.usedMemory} + 100`, version: sql`${containerInstances.version} + 1` })
    .where(eq(containerInstances.id, a));
  // The index still believes 200 MiB are free: the first commit of 2 fails its version check, the
  // second attempt sees 100 MiB and places one.
  const r = await run(2);
  expect(r.tasks).toHaveLength(1);
  expect(r.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:MEMORY" })]);
  expect((await instanceRows())[0]!.usedMemory).toBe(300);
});

test("stopped tasks return their reservation to the index in place, and their room is used again", async () => {
  await addInstance(t, "edge", { cpu: 10_000, memory: 500 });
  const first = await run(5);
  expect(first.tasks).toHaveLength(5);
  expect((await run(1)).failures).toHaveLength(1);
  // What an agent's STOPPED report does; interleaved with new placements.
  const stops = first.tasks.slice(0, 3).map((task) => t.ctx.serialize(() => releaseReservation(t.ctx, task)));
  const again = await Promise.all([...stops.map(() => run(1)), ...stops]);
  const placedAgain = again.slice(0, 3).flatMap((r) => (r as Awaited<ReturnType<typeof run>>).tasks);
  // Each call ran either before or after a stop; whatever it saw, the row is never over.
  const row = (await instanceRows())[0]!;
  expect(row.usedMemory).toBe((5 - 3 + placedAgain.length) * 100);
  expect(row.usedMemory).toBeLessThanOrEqual(500);
  // And once all stops are in, all their room is there for the next calls.
  const more = await run(3);
  expect(placedAgain.length + more.tasks.length).toBe(3);
  expect((await instanceRows())[0]!.usedMemory).toBe(500);
});
