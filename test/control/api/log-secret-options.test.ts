import { afterEach, beforeEach, expect, test } from "bun:test";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
});
afterEach(() => t.close());

test("logConfiguration.secretOptions name Flotilla secrets: RunTask refuses one that does not exist, at its path", async () => {
  await addInstance(t, "edge");
  const td = {
    family: "splunked",
    containerDefinitions: [
      {
        name: "app",
        image: "busybox",
        memory: 16,
        logConfiguration: { logDriver: "splunk", options: { "splunk-url": "https://splunk.example:8088" }, secretOptions: [{ name: "splunk-token", valueFrom: "splunk/token" }] },
      },
    ],
  };
  const reg = await t.request("POST", "/v1/task-definitions", td);
  expect(reg.status).toBe(201);
  expect(reg.body.taskDefinition.containerDefinitions[0].logConfiguration.secretOptions).toEqual([{ name: "splunk-token", valueFrom: "splunk/token" }]);
  const run = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "splunked:1" });
  expect(run.status).toBe(400);
  expect(run.body.error.fields).toEqual([
    { path: "containerDefinitions[0].logConfiguration.secretOptions[0].valueFrom", message: 'secret "splunk/token" does not exist' },
  ]);
});
