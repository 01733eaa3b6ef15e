import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * awslogs containers keep their log on the host; the task shows each one's stream name as ECS
 * names it, and the logs API finds the container by that stream (and group).
 */
let t: TestOps;
let taskId: string;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await addInstance(t, "edge");
  const awslogs = (extra: Record<string, string>) => ({ logDriver: "awslogs", options: { "awslogs-group": "/ecs/shop", "awslogs-region": "eu-west-1", ...extra } });
  const reg = await t.request("POST", "/v1/task-definitions", {
    family: "shop",
    containerDefinitions: [
      { name: "web", image: "busybox", memory: 16, logConfiguration: awslogs({ "awslogs-stream-prefix": "ecs" }) },
      { name: "worker", image: "busybox", memory: 16, logConfiguration: awslogs({}) },
      { name: "sidecar", image: "busybox", memory: 16 },
    ],
  });
  expect(reg.status).toBe(201);
  const run = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "shop" });
  taskId = run.body.tasks[0].taskId;
});
afterEach(() => t.close());

const logs = (q: string) => t.request("GET", `/v1/clusters/edge/tasks/${taskId}/logs?${q}`);

describe("awslogs stream names", () => {
  test("describe-task shows prefix/container/task-id for a prefixed awslogs container, nothing for others", async () => {
    const task = (await t.request("GET", `/v1/clusters/edge/tasks/${taskId}`)).body.task;
    const byName = Object.fromEntries(task.containers.map((c: any) => [c.name, c]));
    expect(byName.web.logStreamName).toBe(`ecs/web/${taskId}`);
    // Without a prefix Docker's awslogs names the stream after the container id: none before it exists.
    expect(byName.worker.logStreamName).toBeUndefined();
    expect(byName.sidecar.logStreamName).toBeUndefined();
    const listed = (await t.request("GET", "/v1/clusters/edge/tasks")).body.tasks[0];
    expect(listed.containers.find((c: any) => c.name === "web").logStreamName).toBe(`ecs/web/${taskId}`);
  });

  test("the logs API takes a stream (and its group) in place of the container name", async () => {
    // Resolved past validation: the in-process API has no agent link, so it answers 503 there.
    expect((await logs(`stream=ecs/web/${taskId}`)).status).toBe(503);
    expect((await logs(`stream=ecs/web/${taskId}&group=/ecs/shop`)).status).toBe(503);
    expect((await logs(`container=worker&group=/ecs/shop`)).status).toBe(503);
  });

  test("a stream, group or container that does not match is a 400 naming the field", async () => {
    const cases: [string, string][] = [
      [`stream=ecs/web/other-task`, "stream"],
      [`stream=ecs/web/${taskId}&container=worker`, "stream"],
      [`stream=ecs/web/${taskId}&group=/ecs/other`, "group"],
      [`container=sidecar&group=/ecs/shop`, "group"],
      [`group=/ecs/shop`, "container"],
    ];
    for (const [q, field] of cases) {
      const r = await logs(q);
      expect({ q, status: r.status }).toEqual({ q, status: 400 });
      expect(r.body.error.fields.map((f: any) => f.path)).toEqual([field]);
    }
  });
});
