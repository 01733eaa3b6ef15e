import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { containerInstances, tasks } from "../../../control/db/schema.ts";
import { newId } from "../../../control/ids.ts";
import { CommitPipeline } from "../../../control/scheduling/commit-pipeline.ts";
import { encodeTaskRows } from "../../../control/scheduling/task-insert.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { sharedTaskColumns } from "./task-columns.ts";

// The commit pipeline on its own: jobs submitted as the placement path submits them, against real
// instance rows. Versions are what the placement index would have said.
let t: TestOps;
let pipeline: CommitPipeline;
let x: string;
let y: string;
const reservation = { cpu: 100, memory: 100, tcpPorts: [], udpPorts: [] };

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  x = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  y = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  pipeline = new CommitPipeline({ path: t.db.file!, remote: false });
});
afterEach(() => {
  pipeline.close();
  t.close();
});

async function versionOf(id: string): Promise<number> {
  return (await t.ctx.db.select({ v: containerInstances.version }).from(containerInstances).where(eq(containerInstances.id, id)).get())!.v;
}
async function usedMemory(id: string): Promise<number> {
  return (await t.ctx.db.select({ m: containerInstances.usedMemory }).from(containerInstances).where(eq(containerInstances.id, id)).get())!.m;
}
async function taskIds(): Promise<string[]> {
  return (await t.ctx.db.select({ id: tasks.id }).from(tasks).orderBy(sql`rowid`).all()).map((r) => r.id);
}

/** Submits one job placing a task on each instance of `versions`, at the version given for it. */
function submit(versions: Record<string, number>) {
  const ids: string[] = [];
  const rows = Object.keys(versions).map((instanceId) => {
    const id = newId();
    ids.push(id);
    return { id, arn: `arn:aws:ecs:local:000000000000:task/edge/${id}`, instanceId };
  });
  const perInstance = new Map(Object.keys(versions).map((id) => [id, 1]));
  const outcome = pipeline.submit(reservation, perInstance, (id) => versions[id]!, encodeTaskRows(sharedTaskColumns("web", "g", reservation), rows));
  return { ids, outcome };
}

test("a job is all or nothing, and one job's conflict does not touch the others in its group", async () => {
  const vx = await versionOf(x);
  const vy = await versionOf(y);
  // Submitted back to back (so usually written in one transaction). The bad one's claim on
  // y holds; its claim on x does not.
  const z = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  const vz = await versionOf(z);
  const bad = submit({ [y]: vy, [x]: vx + 7 });
  const good = submit({ [z]: vz });
  expect(await bad.outcome).toBe("conflict");
  expect(await good.outcome).toBe("committed");
  expect(await taskIds()).toEqual(good.ids);
  expect(await usedMemory(x)).toBe(0);
  expect(await usedMemory(y)).toBe(0);
  expect(await usedMemory(z)).toBe(100);
  expect(await versionOf(x)).toBe(vx);
  expect(await versionOf(y)).toBe(vy);
  expect(await versionOf(z)).toBe(vz + 1);
});

test("jobs commit in the order they were submitted", async () => {
  const vx = await versionOf(x);
  const jobs = [0, 1, 2, 3, 4].map((k) => submit({ [x]: vx + k }));
  for (const j of jobs) expect(await j.outcome).toBe("committed");
  expect(await taskIds()).toEqual(jobs.flatMap((j) => j.ids));
  expect(await versionOf(x)).toBe(vx + 5);
  expect(await usedMemory(x)).toBe(500);
});

test("a job stacked on one that failed still commits: the failure only made its placement conservative", async () => {
  const vx = await versionOf(x);
  const vy = await versionOf(y);
  // A fails on y; B was placed on x after A, on an index that counted A's reservation on x.
  const a = submit({ [x]: vx, [y]: vy + 3 });
  const b = submit({ [x]: vx + 1 });
  expect(await a.outcome).toBe("conflict");
  expect(await b.outcome).toBe("committed");
  expect(await versionOf(x)).toBe(vx + 1);
  expect(await usedMemory(x)).toBe(100);
  // The pipeline remembers A's reservation as a phantom until the index re-reads x: a job placed
  // on that index (version vx + 2, A and B counted) expects vx + 1 in the row.
  const c = submit({ [x]: vx + 2 });
  expect(await c.outcome).toBe("committed");
  expect(await versionOf(x)).toBe(vx + 2);
});

test("a job stacked on a failed one fails too when the row changed behind the index's back", async () => {
  const vx = await versionOf(x);
  // Another writer (a second control, say) reserves on x: the index does not know.
  await t.ctx.db.update(containerInstances).set({ usedMemory: 900, version: sql`${containerInstances.version} + 1` }).where(eq(containerInstances.id, x));
  const a = submit({ [x]: vx });
  const b = submit({ [x]: vx + 1 });
  // B's version matches the row only by coincidence (A failed, the other writer bumped it once):
  // the claim subtracts A's failure and expects vx, so B fails as it must.
  expect(await a.outcome).toBe("conflict");
  expect(await b.outcome).toBe("conflict");
  expect(await usedMemory(x)).toBe(900);
  expect(await taskIds()).toEqual([]);
});

test("an instance with commits in flight is busy until they end", async () => {
  const vx = await versionOf(x);
  const a = submit({ [x]: vx });
  expect(pipeline.busy(x)).toBe(true);
  expect(pipeline.busy(y)).toBe(false);
  await a.outcome;
  expect(pipeline.busy(x)).toBe(false);
});
