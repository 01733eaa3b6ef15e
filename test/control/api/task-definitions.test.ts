import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => (t = await createTestOps()));
afterEach(() => t.close());


describe("task definitions API", () => {
  test("the ECS webserver example registers, with numeric strings normalised", async () => {
    const res = await t.request("POST", "/v1/task-definitions", WEBSERVER);
    expect(res.status).toBe(201);
    const td = res.body.taskDefinition;
    expect(td).toMatchObject({ family: "webserver", revision: 1, status: "ACTIVE", cpu: "256", memory: "512", networkMode: "awsvpc" });
    expect(td.taskDefinitionArn).toEndWith(":task-definition/webserver:1");
    expect(td.containerDefinitions[0]).toMatchObject({ name: "web", image: "nginx", memory: 100, cpu: 99, essential: true });
  });

  test("revisions count up per family and are immutable", async () => {
    await t.request("POST", "/v1/task-definitions", WEBSERVER);
    const r2 = await t.request("POST", "/v1/task-definitions", { ...WEBSERVER, memory: "1024" });
    expect(r2.body.taskDefinition.revision).toBe(2);
    const other = await t.request("POST", "/v1/task-definitions", { ...WEBSERVER, family: "other" });
    expect(other.body.taskDefinition.revision).toBe(1);

    expect((await t.request("GET", "/v1/task-definitions/webserver:1")).body.taskDefinition.memory).toBe("512");
    expect((await t.request("GET", "/v1/task-definitions/webserver")).body.taskDefinition.revision).toBe(2);
    const list = (await t.request("GET", "/v1/task-definitions")).body;
    expect(list.families).toEqual(["other", "webserver"]);
    expect(list.taskDefinitionArns).toHaveLength(3);
  });

  test("deregistering makes a revision INACTIVE; the family then resolves to the latest ACTIVE", async () => {
    await t.request("POST", "/v1/task-definitions", WEBSERVER);
    await t.request("POST", "/v1/task-definitions", WEBSERVER);
    const del = await t.request("DELETE", "/v1/task-definitions/webserver:2");
    expect(del.body.taskDefinition.status).toBe("INACTIVE");
    expect((await t.request("GET", "/v1/task-definitions/webserver")).body.taskDefinition.revision).toBe(1);
    expect((await t.request("GET", "/v1/task-definitions/webserver:2")).body.taskDefinition.status).toBe("INACTIVE");
    expect((await t.request("DELETE", "/v1/task-definitions/webserver")).status).toBe(400);
  });

  test("invalid definitions get 400 naming every failing field, and nothing is stored", async () => {
    const res = await t.request("POST", "/v1/task-definitions", {
      family: "bad family",
      containerDefinitions: [{ name: "web", memory: "lots" }],
    });
    expect(res.status).toBe(400);
    const paths = res.body.error.fields.map((f: any) => f.path);
    expect(paths).toContain("family");
    expect(paths).toContain("containerDefinitions[0].image");
    expect(paths).toContain("containerDefinitions[0].memory");
    expect((await t.request("GET", "/v1/task-definitions")).body.taskDefinitionArns).toEqual([]);

    const empty = await t.request("POST", "/v1/task-definitions", { family: "x", containerDefinitions: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields[0].path).toBe("containerDefinitions");
  });

  test("unknown definitions are 404", async () => {
    expect((await t.request("GET", "/v1/task-definitions/nope")).status).toBe(404);
    expect((await t.request("GET", "/v1/task-definitions/nope:3")).status).toBe(404);
  });
});
