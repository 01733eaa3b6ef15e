import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { arn } from "../../../shared/arn.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { ManualClock } from "../services/fake-fleet.ts";
import { call, refusal } from "./call.ts";

const C = "ecs-attr";
let t: TestOps;
let a: string, b: string;

beforeAll(async () => {
  const clock = new ManualClock();
  t = await createTestOps(clock);
  await t.request("POST", "/v1/clusters", { clusterName: C });
  a = await addInstance(t, C);
  clock.advance(1000);
  b = await addInstance(t, C);
});
afterAll(() => t.close());

const listed = async (input: Record<string, unknown>) => (await call(t.app, "ListAttributes", { cluster: C, targetType: "container-instance", ...input })).attributes;

describe("PutAttributes / DeleteAttributes / ListAttributes", () => {
  test("put by id or ARN, list by name and value, delete", async () => {
    const put = await call(t.app, "PutAttributes", {
      cluster: C,
      attributes: [
        { name: "stack", value: "prod", targetType: "container-instance", targetId: a },
        { name: "stack", value: "dev", targetId: arn.containerInstance(C, b) },
      ],
    });
    expect(put.attributes).toEqual([
      { name: "stack", value: "prod", targetType: "container-instance", targetId: a },
      { name: "stack", value: "dev", targetType: "container-instance", targetId: arn.containerInstance(C, b) },
    ]);
    expect(await listed({ attributeName: "stack" })).toEqual([
      { name: "stack", value: "prod", targetType: "container-instance", targetId: arn.containerInstance(C, a) },
      { name: "stack", value: "dev", targetType: "container-instance", targetId: arn.containerInstance(C, b) },
    ]);
    expect((await listed({ attributeName: "stack", attributeValue: "dev" })).map((x: any) => x.targetId)).toEqual([arn.containerInstance(C, b)]);
    await call(t.app, "DeleteAttributes", { cluster: C, attributes: [{ name: "stack", targetId: b }] });
    expect((await listed({ attributeName: "stack" })).map((x: any) => x.targetId)).toEqual([arn.containerInstance(C, a)]);
    await call(t.app, "DeleteAttributes", { cluster: C, attributes: [{ name: "stack", targetId: a }] });
  });

  test("ECS's refusals: TargetNotFoundException, AttributeLimitExceededException (10 custom per instance), targetType required, value needs a name", async () => {
    const missing = await refusal(t.app, "PutAttributes", { cluster: C, attributes: [{ name: "x", value: "1", targetId: "0123456789abcdef" }] });
    expect(missing.code).toBe("TargetNotFoundException");
    expect(missing.paths[0]).toBe("attributes[0].targetId");
    expect((await refusal(t.app, "DeleteAttributes", { cluster: C, attributes: [{ name: "x", targetId: "0123456789abcdef" }] })).code).toBe("TargetNotFoundException");

    const ten = Array.from({ length: 10 }, (_, i) => ({ name: `custom-${i}`, value: "v", targetId: a }));
    await call(t.app, "PutAttributes", { cluster: C, attributes: ten });
    // Overwriting one of the ten is fine; an eleventh is not, and nothing is written.
    await call(t.app, "PutAttributes", { cluster: C, attributes: [{ name: "custom-0", value: "w", targetId: a }] });
    const over = await refusal(t.app, "PutAttributes", { cluster: C, attributes: [{ name: "custom-10", value: "v", targetId: a }] });
    expect(over.code).toBe("AttributeLimitExceededException");
    expect(await listed({ attributeName: "custom-10" })).toEqual([]);
    // The agent's own attributes (ecs.*) do not count toward the ten.
    expect((await listed({ attributeName: "ecs.os-type" })).length).toBe(2);
    await call(t.app, "DeleteAttributes", { cluster: C, attributes: ten.map(({ name, targetId }) => ({ name, targetId })) });

    expect((await refusal(t.app, "ListAttributes", { cluster: C })).paths[0]).toBe("targetType");
    expect((await refusal(t.app, "ListAttributes", { cluster: C, targetType: "task" })).paths[0]).toBe("targetType");
    expect((await refusal(t.app, "ListAttributes", { cluster: C, targetType: "container-instance", attributeValue: "linux" })).paths[0]).toBe("attributeValue");
    expect((await refusal(t.app, "PutAttributes", { cluster: "nope", attributes: [{ name: "x", targetId: a }] })).code).toBe("ClusterNotFoundException");
    expect((await refusal(t.app, "PutAttributes", { cluster: C, attributes: [{ name: "x", targetId: a }], extra: 1 })).code).toBe("InvalidParameterException");
  });

  test("ListAttributes pages with maxResults and nextToken over a stable order", async () => {
    const all = await listed({});
    expect(all.length).toBeGreaterThan(4);
    const paged: unknown[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(t.app, "ListAttributes", { cluster: C, targetType: "container-instance", maxResults: 2, ...(nextToken ? { nextToken } : {}) });
      expect(page.attributes.length).toBeLessThanOrEqual(2);
      paged.push(...page.attributes);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(paged).toEqual(all);
  });
});
