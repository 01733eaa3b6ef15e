import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { attributeMap } from "../../../shared/instance-resources.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
let inst: string;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  inst = await addInstance(t, "edge");
});
afterEach(() => t.close());

describe("attributes (ECS PutAttributes / DeleteAttributes / ListAttributes)", () => {
  test("put, list by name, and delete a custom attribute", async () => {
    const put = await t.request("PUT", "/v1/clusters/edge/attributes", { attributes: [{ name: "stack", value: "prod", targetId: inst }] });
    expect(put.status).toBe(200);
    expect(put.body.attributes).toEqual([{ name: "stack", value: "prod", targetId: inst, targetType: "container-instance" }]);
    const list = await t.request("GET", "/v1/clusters/edge/attributes?attributeName=stack");
    expect(list.body.attributes).toEqual([expect.objectContaining({ name: "stack", value: "prod" })]);
    const all = await t.request("GET", "/v1/clusters/edge/attributes");
    expect(all.body.attributes.map((a: any) => a.name)).toContain("ecs.cpu-architecture");
    const ci = (await t.request("GET", `/v1/clusters/edge/container-instances/${inst}`)).body.containerInstance;
    expect(attributeMap(ci.attributes).stack).toBe("prod");

    await t.request("DELETE", "/v1/clusters/edge/attributes", { attributes: [{ name: "stack", targetId: inst }] });
    expect((await t.request("GET", "/v1/clusters/edge/attributes?attributeName=stack")).body.attributes).toEqual([]);
  });

  test("an unknown target fails the whole call and writes nothing", async () => {
    const res = await t.request("PUT", "/v1/clusters/edge/attributes", {
      attributes: [
        { name: "a", value: "1", targetId: inst },
        { name: "b", value: "2", targetId: "nope" },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("attributes[1].targetId");
    expect((await t.request("GET", "/v1/clusters/edge/attributes?attributeName=a")).body.attributes).toEqual([]);
  });

  test("bad attribute names are 400 with the path", async () => {
    const res = await t.request("PUT", "/v1/clusters/edge/attributes", { attributes: [{ name: "bad name!", value: "x", targetId: inst }] });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("attributes[0].name");
  });
});

describe("draining (PATCH container instance status)", () => {
  test("a DRAINING instance gets no new tasks; ACTIVE takes them again", async () => {
    await t.request("POST", "/v1/task-definitions", WEBSERVER);
    const drained = await t.request("PATCH", `/v1/clusters/edge/container-instances/${inst}`, { status: "DRAINING" });
    expect(drained.body.containerInstance.status).toBe("DRAINING");
    const refused = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" });
    expect(refused.body.tasks).toEqual([]);
    expect(refused.body.failures).toHaveLength(1);

    await t.request("PATCH", `/v1/clusters/edge/container-instances/${inst}`, { status: "ACTIVE" });
    const placed = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "webserver" });
    expect(placed.body.tasks).toHaveLength(1);
  });

  test("only ACTIVE and DRAINING are accepted", async () => {
    const res = await t.request("PATCH", `/v1/clusters/edge/container-instances/${inst}`, { status: "INACTIVE" });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("status");
  });
});
