import { afterEach, beforeEach, expect, test } from "bun:test";
import { resourceInteger } from "../../../shared/instance-resources.ts";
import { createApi } from "../../../control/api/app.ts";
import { systemClock } from "../../../control/clock.ts";
import { openDatabase, type Database } from "../../../control/db/open.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import { PlacementIndexCache } from "../../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../../control/scheduling/placement-store.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

// Two control processes share one database file: each has its own libSQL client and its own
// in-memory placement index, neither told about the other's commits, so only the commit's version
// check stands between them and an oversubscribed instance. Between real processes SQLite's write
// lock (with busy_timeout) makes one commit wait for the other; inside one thread a lock wait would
// block the very transaction it waits for, so the two share one serializer standing in for that
// lock. Placement still runs on each control's own stale index.
let a: TestOps;
let second: Database;
let b: { ctx: OpsContext; app: ReturnType<typeof createApi> };

beforeEach(async () => {
  a = await createTestOps();
  const file = (await a.db.client.execute("PRAGMA database_list")).rows.find((r) => r.name === "main")!.file as string;
  second = await openDatabase(`file:${file}`);
  const placement = PlacementStore.open(second);
  const ctx: OpsContext = {
    db: second.db,
    clock: systemClock,
    serialize: a.ctx.serialize,
    desiredChanged: () => {},
    indexes: new PlacementIndexCache(placement, systemClock),
    placement,
  };
  b = { ctx, app: createApi(ctx) };
  await a.request("POST", "/v1/clusters", { clusterName: "edge" });
  await a.request("POST", "/v1/task-definitions", WEBSERVER);
});
afterEach(() => {
  second.close();
  a.close();
});

async function runTaskOnB() {
  const res = await b.app.request("/v1/clusters/edge/tasks", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}` },
    body: JSON.stringify({ taskDefinition: "webserver" }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

test("50 concurrent RunTask calls split across two controls never oversubscribe an instance", async () => {
  // Room for 5 + 3 tasks of 512 MiB.
  await addInstance(a, "edge", { cpu: 8192, memory: 512 * 5 });
  await addInstance(a, "edge", { cpu: 8192, memory: 512 * 3 });
  // Both indexes are loaded before the race; then the first control places two tasks the second
  // one's index knows nothing about, so the second control's placements start from stale versions.
  await a.ctx.indexes.get("edge");
  await b.ctx.indexes.get("edge");
  const early = (await a.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver", count: 2 })).body.tasks;
  expect(early).toHaveLength(2);

  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" }) : runTaskOnB())),
  );
  // 201 when a task was placed, 200 when the call only has failures[]: never an error.
  for (const r of results) expect([200, 201]).toContain(r.status);
  const placed = [...early, ...results.flatMap((r) => r.body.tasks)];
  expect(placed).toHaveLength(8);
  expect(results.flatMap((r) => r.body.failures)).toHaveLength(44);

  const instances = (await a.request("GET", "/v1/clusters/edge/container-instances")).body.containerInstances;
  for (const i of instances) {
    expect(resourceInteger(i.remainingResources, "MEMORY")).toBe(0);
    const onIt = placed.filter((t: any) => t.containerInstanceArn === i.containerInstanceArn);
    expect(onIt.length * 512).toBe(resourceInteger(i.registeredResources, "MEMORY")!);
  }
});

test("a commit placed on a stale index fails its version check, refreshes and places again", async () => {
  const inst = await addInstance(a, "edge", { cpu: 8192, memory: 512 });
  await b.ctx.indexes.get("edge"); // the second control sees 512 MiB free
  expect((await a.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" })).body.tasks).toHaveLength(1);
  // The second control's index still says the instance is empty; the commit must not believe it.
  const res = await runTaskOnB();
  expect(res.body.tasks).toEqual([]);
  expect(res.body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:MEMORY" })]);
  const ci = (await a.request("GET", `/v1/clusters/edge/container-instances/${inst}`)).body.containerInstance;
  expect(resourceInteger(ci.remainingResources, "MEMORY")).toBe(0);
});
