import { afterEach, beforeEach, expect, test } from "bun:test";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
});
afterEach(() => t.close());

const confined = (dockerSecurityOptions: string[]) => ({
  family: "confined",
  containerDefinitions: [{ name: "c", image: "busybox", memory: 16, dockerSecurityOptions }],
});

test("no-new-privileges runs under the default policy; apparmor/seccomp/label need allowSecurityOptions", async () => {
  await addInstance(t, "edge");
  expect((await t.request("POST", "/v1/task-definitions", confined(["no-new-privileges"]))).status).toBe(201);
  expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "confined:1" })).status).toBe(201);

  expect((await t.request("POST", "/v1/task-definitions", confined(["no-new-privileges", "apparmor:unconfined", "seccomp:unconfined"]))).status).toBe(201);
  const refused = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "confined:2" });
  expect(refused.status).toBe(400);
  expect(refused.body.error.fields.map((f: { path: string }) => f.path)).toEqual([
    "containerDefinitions[0].dockerSecurityOptions[1]",
    "containerDefinitions[0].dockerSecurityOptions[2]",
  ]);
  expect(refused.body.error.fields[0].message).toContain("allowSecurityOptions");

  expect((await t.request("PUT", "/v1/clusters/edge/policy", { allowSecurityOptions: true })).status).toBe(200);
  expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "confined:2" })).status).toBe(201);
});
