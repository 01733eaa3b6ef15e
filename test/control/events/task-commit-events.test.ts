import { afterEach, beforeEach, expect, test } from "bun:test";
import { tasks } from "../../../control/db/schema.ts";
import type { EventEnvelope } from "../../../control/events/log.ts";
import { FencedOut } from "../../../control/leader/fence.ts";
import { fencedContext } from "../../../control/leader/fenced-context.ts";
import { acquireLease, type Fence } from "../../../control/leader/lease.ts";
import { createCluster } from "../../../control/ops/clusters.ts";
import { registerTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { runTask } from "../../../control/ops/tasks.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { rejection } from "../../helpers/rejection.ts";

// RunTask's tasks are inserted by the placement commit worker; their PROVISIONING events travel
// with the rows and are inserted in the same savepoint, so an event exists exactly when its task
// does: a commit refused inside the worker (a deposed leader's) leaves neither behind.
let t: TestOps;
let fence: Fence | null;

beforeEach(async () => {
  t = await createTestOps();
  await createCluster(t.ctx, { clusterName: "c" });
  await registerTaskDefinition(t.ctx, { ...WEBSERVER, requiresCompatibilities: ["EXTERNAL"] });
  await addInstance(t, "c", { cpu: 4096, memory: 2048 });
  fence = await acquireLease(t.db.db, "control-leader", "a", 1000, Date.now());
});
afterEach(() => t.close());

const provisioning = async () =>
  ((await t.request("GET", "/v1/events?after=0&limit=1000")).body.events as EventEnvelope[])
    .filter((e) => e["detail-type"] === "ECS Task State Change" && e.detail.lastStatus === "PROVISIONING")
    .map((e) => e.detail.taskArn as string)
    .sort();

test("a committed RunTask's tasks each have their PROVISIONING event; a refused commit leaves no event", async () => {
  const leader = fencedContext(t.ctx, () => fence);
  const first = await runTask(t.ctx, "c", { taskDefinition: "webserver", count: 2 });
  expect(await provisioning()).toEqual(first.tasks.map((r) => r.arn).sort());
  // Another process takes the lease: the old leader's commit is refused inside the worker's transaction.
  await acquireLease(t.db.db, "control-leader", "b", 1000, Date.now() + 5000);
  expect(await rejection(runTask(leader, "c", { taskDefinition: "webserver" }))).toBeInstanceOf(FencedOut);
  const rows = (await t.ctx.db.select({ arn: tasks.arn }).from(tasks).all()).map((r) => r.arn).sort();
  expect(rows).toHaveLength(2);
  expect(await provisioning()).toEqual(rows);
});
