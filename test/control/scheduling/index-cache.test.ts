import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { systemClock } from "../../../control/clock.ts";
import { containerInstances } from "../../../control/db/schema.ts";
import { PlacementIndexCache, type RefreshGuard } from "../../../control/scheduling/index-cache.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
let x: string;
const reservation = { cpu: 10, memory: 100, tcpPorts: [], udpPorts: [] };

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  x = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
});
afterEach(() => t.close());

/** A guard that records re-reads; `busyIds` stand for instances with commits in flight. */
function guard(busyIds: Set<string>) {
  const reread: string[] = [];
  let reloads = 0;
  const g: RefreshGuard = {
    busy: (id) => busyIds.has(id),
    refreshed: (ids) => {
      if (ids) reread.push(...ids);
      else reloads++;
    },
  };
  return { g, reread, reloads: () => reloads };
}

/** Another writer takes memory on the instance, as a commit or a second control would. */
async function takeMemory(id: string, mib: number) {
  const [row] = await t.ctx.db
    .update(containerInstances)
    .set({ usedMemory: sql`${containerInstances.usedMemory} + ${mib}`, version: sql`${containerInstances.version} + 1` })
    .where(eq(containerInstances.id, id))
    .returning({ version: containerInstances.version });
  return row!.version;
}

test("an instance with commits in flight is not re-read until they end", async () => {
  const cache = new PlacementIndexCache(t.ctx.placement, systemClock);
  const busy = new Set([x]);
  const { g, reread } = guard(busy);
  await cache.get("edge", g);
  await takeMemory(x, 300);
  cache.instanceChanged(x);
  expect((await cache.get("edge", g)).get(x)!.remaining.memory).toBe(1000);
  expect(reread).toEqual([]);
  busy.clear();
  expect((await cache.get("edge", g)).get(x)!.remaining.memory).toBe(700);
  expect(reread).toEqual([x]);
});

test("a full reload keeps the in-memory entry of a busy instance and refreshes the rest", async () => {
  const y = await addInstance(t, "edge", { cpu: 1000, memory: 1000 });
  const cache = new PlacementIndexCache(t.ctx.placement, systemClock, -1); // every get reloads
  const busy = new Set([x]);
  const { g, reloads } = guard(busy);
  const before = await cache.get("edge", g);
  before.reserve(x, reservation, "g", before.get(x)!.version + 1); // booked, commit in flight
  await takeMemory(y, 200);
  const after = await cache.get("edge", g);
  expect(after.get(x)!.remaining.memory).toBe(900);
  expect(after.get(y)!.remaining.memory).toBe(800);
  expect(reloads()).toBeGreaterThan(0);
});

test("a released reservation is applied in place when the index saw the row just before it", async () => {
  const cache = new PlacementIndexCache(t.ctx.placement, systemClock);
  const { g, reread } = guard(new Set());
  const index = await cache.get("edge", g);
  // A task of 100 MiB is booked and committed, then released by its STOPPED report.
  index.reserve(x, reservation, "g", await takeMemory(x, 100));
  expect(index.get(x)!.remaining.memory).toBe(900);
  const released = await takeMemory(x, -100);
  cache.taskReleased({ clusterName: "edge", instanceId: x, reservation, group: "g" }, released);
  const view = (await cache.get("edge", g)).get(x)!;
  expect(reread).toEqual([]);
  expect(view.version).toBe(released);
  expect(view.remaining.memory).toBe(1000);
  expect(view.groups.get("g")).toBeUndefined();
});

test("a released reservation the index cannot place in sequence makes it re-read the instance", async () => {
  const cache = new PlacementIndexCache(t.ctx.placement, systemClock);
  const { g, reread } = guard(new Set());
  await cache.get("edge", g);
  await takeMemory(x, 300); // a change the index never heard of
  const v = await takeMemory(x, 0);
  cache.taskReleased({ clusterName: "edge", instanceId: x, reservation, group: "g" }, v);
  const view = (await cache.get("edge", g)).get(x)!;
  expect(reread).toEqual([x]);
  expect(view.version).toBe(v);
  expect(view.remaining.memory).toBe(700);
});
