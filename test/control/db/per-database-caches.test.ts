import { afterAll, describe, expect, test } from "bun:test";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { resolveTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { taskDefinitionRevision } from "../../../control/db/task-definition-revisions.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * Two control services in one process (as in the test suite) each have their own `web:1`. The
 * caches of immutable task definition revisions must not hand one database's definition to the
 * other: that once made an agent run another test's container, and a service use another
 * revision's command.
 */
const opened: TestOps[] = [];
afterAll(() => {
  for (const t of opened) t.close();
});

async function controlWith(containerName: string) {
  const t = await createTestOps();
  opened.push(t);
  const td = await t.request("POST", "/v1/task-definitions", { family: "web", containerDefinitions: [{ name: containerName, image: "busybox", memory: 32 }] });
  expect(td.status).toBe(201);
  expect((await t.request("POST", "/v1/clusters", { clusterName: "same-name" })).status).toBe(201);
  const instanceId = await addInstance(t, "same-name");
  const run = await t.request("POST", "/v1/clusters/same-name/tasks", { taskDefinition: "web:1" });
  expect(run.body.failures).toEqual([]);
  return { t, instanceId, arn: td.body.taskDefinition.taskDefinitionArn as string };
}

describe("task definition caches are per database", () => {
  test("desired sets and service snapshots read each control's own web:1", async () => {
    const a = await controlWith("first");
    const b = await controlWith("second");
    expect(a.arn).toBe(b.arn);
    const names = async (x: typeof a) => ((await nextDesiredState(x.t.ctx, x.instanceId))!.tasks[0]!.definition as any).containerDefinitions.map((c: any) => c.name);
    expect(await names(a)).toEqual(["first"]);
    expect(await names(b)).toEqual(["second"]);
    expect((await taskDefinitionRevision(a.t.ctx.db, a.arn))!.spec).toMatchObject({ containerDefinitions: [{ name: "first" }] });
    expect((await taskDefinitionRevision(b.t.ctx.db, b.arn))!.spec).toMatchObject({ containerDefinitions: [{ name: "second" }] });
  });
});

describe("a task definition revision is parsed once per database", () => {
  test("RunTask, desired sets and the revision cache share one spec object, however many tasks run it", async () => {
    const t = await createTestOps();
    opened.push(t);
    const td = await t.request("POST", "/v1/task-definitions", { family: "once", containerDefinitions: [{ name: "c", image: "busybox", memory: 16 }] });
    await t.request("POST", "/v1/clusters", { clusterName: "once" });
    const instanceId = await addInstance(t, "once");
    for (let i = 0; i < 3; i++) expect((await t.request("POST", "/v1/clusters/once/tasks", { taskDefinition: "once:1", count: 2 })).status).toBe(201);
    const spec = (await taskDefinitionRevision(t.ctx.db, td.body.taskDefinition.taskDefinitionArn))!.spec;
    const definitions = (await nextDesiredState(t.ctx, instanceId))!.tasks.map((x) => x.definition);
    expect(definitions).toHaveLength(6);
    for (const d of definitions) expect(d).toBe(spec);
    // What RunTask resolves (by family, by revision) carries the same object: nothing read it again.
    expect((await resolveTaskDefinition(t.ctx, "once")).spec).toBe(spec);
    expect((await resolveTaskDefinition(t.ctx, "once:1")).spec).toBe(spec);
  });
});
