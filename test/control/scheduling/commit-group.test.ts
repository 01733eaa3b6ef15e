import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { containerInstances, events, tasks } from "../../../control/db/schema.ts";
import { newId } from "../../../control/ids.ts";
import { CommitConnection } from "../../../control/scheduling/commit-connection.ts";
import type { CommitJob, ReleaseJob, WriteJob } from "../../../control/scheduling/commit-job.ts";
import { encodeTaskRows } from "../../../control/scheduling/task-insert.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { sharedTaskColumns } from "./task-columns.ts";

// One group of jobs written by CommitConnection.writeGroup, as the commit worker writes what
// queued up: the rows and events of the jobs that passed go in shared multi-row INSERTs, and a job
// that fails (a conflict on its first or a later claim, a row that cannot be inserted) fails alone.
let t: TestOps;
let conn: CommitConnection;
let x: string;
let y: string;
let z: string;
const reservation = { cpu: 100, memory: 100, tcpPorts: [], udpPorts: [] };
let nextId = 1;

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  x = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  y = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  z = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  conn = new CommitConnection({ path: t.db.file!, remote: false }, 5000);
});
afterEach(() => {
  conn.close();
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
async function eventTaskIds(): Promise<string[]> {
  return (await t.ctx.db.select({ id: events.taskId }).from(events).where(eq(events.detailType, "ECS Task State Change")).orderBy(events.id).all()).map((r) => r.id!);
}

/** A commit of `n` tasks on each instance of `versions` (claimed at that version), with their events; `ids` overrides the task ids. */
function commit(versions: Record<string, number>, n = 1, ids?: string[]): CommitJob & { ids: string[] } {
  const rows = Object.keys(versions).flatMap((instanceId) => Array.from({ length: n }, () => ({ instanceId })));
  const taskIds = ids ?? rows.map(() => newId());
  const encoded = encodeTaskRows(
    sharedTaskColumns("web", "g", reservation),
    rows.map((r, i) => ({ id: taskIds[i]!, arn: `arn:aws:ecs:local:000000000000:task/edge/${taskIds[i]}`, instanceId: r.instanceId })),
  );
  encoded.stateChangeEventsAt = 1;
  const claims = Object.entries(versions).map(([instanceId, version]) => ({ instanceId, tasks: n, version, after: [] }));
  return { kind: "commit", id: nextId++, reservation, claims, rows: encoded, ids: taskIds };
}

function release(taskId: string, instanceId: string): ReleaseJob {
  return { kind: "release", id: nextId++, taskId, instanceId, reservation };
}

const write = (jobs: WriteJob[]) => conn.writeGroup(jobs, new Map()).map((r) => r.outcome);

test("in one group, a conflict on a first or a later claim fails that job alone; the rest commit with their events", async () => {
  const [vx, vy, vz] = [await versionOf(x), await versionOf(y), await versionOf(z)];
  const a = commit({ [x]: vx }, 3);
  const firstClaimStale = commit({ [y]: vy + 5 });
  const laterClaimStale = commit({ [y]: vy, [z]: vz + 9 });
  const b = commit({ [y]: vy, [z]: vz }, 2);
  const c = commit({ [x]: vx + 1 });
  expect(write([a, firstClaimStale, laterClaimStale, b, c])).toEqual(["committed", "conflict", "conflict", "committed", "committed"]);
  const committed = [...a.ids, ...b.ids, ...c.ids];
  expect(await taskIds()).toEqual(committed);
  expect(await eventTaskIds()).toEqual(committed);
  // The stale job's first claim (on y) was rolled back with it: y holds only b's reservation.
  expect(await usedMemory(y)).toBe(200);
  expect(await versionOf(y)).toBe(vy + 1);
  expect(await usedMemory(x)).toBe(400);
  expect(await versionOf(x)).toBe(vx + 2);
  expect(await usedMemory(z)).toBe(200);
});

test("a row that cannot be inserted fails its job alone: the group is written again one job at a time", async () => {
  const [vx, vy] = [await versionOf(x), await versionOf(y)];
  const first = commit({ [x]: vx });
  expect(write([first])).toEqual(["committed"]);
  const a = commit({ [x]: vx + 1 });
  const duplicate = commit({ [y]: vy }, 1, [first.ids[0]!]);
  const b = commit({ [x]: vx + 2 });
  const replies = conn.writeGroup([a, duplicate, b], new Map());
  expect(replies.map((r) => r.outcome)).toEqual(["committed", "error", "committed"]);
  expect(await taskIds()).toEqual([...first.ids, ...a.ids, ...b.ids]);
  expect(await eventTaskIds()).toEqual([...first.ids, ...a.ids, ...b.ids]);
  // The failed job's reservation on y did not stay.
  expect(await usedMemory(y)).toBe(0);
  expect(await versionOf(y)).toBe(vy);
  expect(await usedMemory(x)).toBe(300);
});

test("a release in a group sees the rows committed before it in the same group", async () => {
  const vx = await versionOf(x);
  const a = commit({ [x]: vx });
  // Jobs run in order: the release of a's task (its rows inserted first) gives its reservation back.
  const replies = conn.writeGroup([a, release(a.ids[0]!, x), commit({ [x]: vx + 2 })], new Map());
  expect(replies.map((r) => r.outcome)).toEqual(["committed", "released", "committed"]);
  expect(replies[1]).toEqual({ id: replies[1]!.id, outcome: "released", version: vx + 2 });
  expect(await usedMemory(x)).toBe(100);
  expect((await taskIds()).length).toBe(2);
});
