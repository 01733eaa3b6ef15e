import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { arn } from "../../../shared/arn.ts";
import { tagActions } from "../../../control/ecs-api/actions/tags.ts";
import { tagsOf } from "../../../control/ops/tags.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { call, refusal } from "./call.ts";

let t: TestOps;
let instanceId: string;
const cluster = arn.cluster("edge");

beforeAll(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  await t.request("POST", "/v1/task-definitions", WEBSERVER);
  instanceId = await addInstance(t, "edge");
});
afterAll(() => t.close());

const list = async (resourceArn: string) => (await call(t, tagActions, "ListTagsForResource", { resourceArn })).tags;

describe("TagResource / UntagResource / ListTagsForResource", () => {
  test("tags are added, overwritten by key, listed and removed; other keys stay", async () => {
    await call(t, tagActions, "TagResource", { resourceArn: cluster, tags: [{ key: "team", value: "edge" }, { key: "env", value: "dev" }] });
    await call(t, tagActions, "TagResource", { resourceArn: cluster, tags: [{ key: "env", value: "prod" }] });
    expect(await list(cluster)).toEqual([
      { key: "env", value: "prod" },
      { key: "team", value: "edge" },
    ]);
    await call(t, tagActions, "UntagResource", { resourceArn: cluster, tagKeys: ["team", "never-set"] });
    expect(await list(cluster)).toEqual([{ key: "env", value: "prod" }]);
  });

  test("an ARN in ECS's own form (aws partition, region, account) names the same resource's tags", async () => {
    const pasted = `arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/${instanceId}`;
    await call(t, tagActions, "TagResource", { resourceArn: pasted, tags: [{ key: "rack", value: "r1" }] });
    expect(await list(arn.containerInstance("edge", instanceId))).toEqual([{ key: "rack", value: "r1" }]);
    // The older container instance ARN without the cluster too.
    expect(await list(`arn:aws:ecs:eu-west-1:123456789012:container-instance/${instanceId}`)).toEqual([{ key: "rack", value: "r1" }]);
  });

  test("task definitions are tagged by family:revision; tagsOf reads several resources at once", async () => {
    const td = arn.taskDefinition("webserver", 1);
    await call(t, tagActions, "TagResource", { resourceArn: td, tags: [{ key: "app", value: "web" }, { key: "empty" }] });
    const m = await tagsOf(t.ctx, [td, arn.cluster("edge"), arn.cluster("no-tags")]);
    expect(m.get(td)).toEqual([
      { key: "app", value: "web" },
      { key: "empty", value: "" },
    ]);
    expect(m.get(arn.cluster("no-tags"))).toEqual([]);
  });

  test("ECS's limits: key 1-128, value up to 256, allowed characters, aws: reserved, keys unique", async () => {
    const bad = [
      [{ key: "" }, "tags[0].key"],
      [{ key: "k".repeat(129) }, "tags[0].key"],
      [{ key: "k", value: "v".repeat(257) }, "tags[0].value"],
      [{ key: "a*b" }, "tags[0].key"],
      [{ key: "AWS:owner" }, "tags[0].key"],
      [{ key: "owner", value: "aws:me" }, "tags[0].value"],
    ] as const;
    for (const [tag, path] of bad) {
      const e = await refusal(t, tagActions, "TagResource", { resourceArn: cluster, tags: [tag] });
      expect(e.code).toBe("InvalidParameterException");
      expect(e.fields.map((f) => f.path)).toContain(path);
    }
    const dup = await refusal(t, tagActions, "TagResource", { resourceArn: cluster, tags: [{ key: "x" }, { key: "x" }] });
    expect(dup.fields.map((f) => f.path)).toContain("tags[1].key");
    // Edge values are accepted: 128-character key, 256-character value, unicode letters and spaces.
    await call(t, tagActions, "TagResource", { resourceArn: cluster, tags: [{ key: "k".repeat(128), value: "v".repeat(256) }, { key: "équipe bleue", value: "a+b=c/d@e:f" }] });
    await call(t, tagActions, "UntagResource", { resourceArn: cluster, tagKeys: ["k".repeat(128), "équipe bleue"] });
  });

  test("50 tags per resource: a 51st key is refused, overwriting one of the 50 is not", async () => {
    const td = arn.taskDefinition("webserver", 1);
    await call(t, tagActions, "UntagResource", { resourceArn: td, tagKeys: ["app", "empty"] });
    const fifty = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    const tooMany = await refusal(t, tagActions, "TagResource", { resourceArn: td, tags: [...fifty, { key: "k50" }] });
    expect(tooMany.code).toBe("InvalidParameterException");
    await call(t, tagActions, "TagResource", { resourceArn: td, tags: fifty });
    const more = await refusal(t, tagActions, "TagResource", { resourceArn: td, tags: [{ key: "one-more" }] });
    expect(more.code).toBe("InvalidParameterException");
    await call(t, tagActions, "TagResource", { resourceArn: td, tags: [{ key: "k0", value: "changed" }] });
    const tags = await list(td);
    expect(tags).toHaveLength(50);
    expect(tags.find((x: any) => x.key === "k0").value).toBe("changed");
  });

  test("the resource must exist: ECS's exception per action and kind", async () => {
    expect((await refusal(t, tagActions, "TagResource", { resourceArn: arn.cluster("nope"), tags: [{ key: "a" }] })).code).toBe("ClusterNotFoundException");
    expect((await refusal(t, tagActions, "TagResource", { resourceArn: arn.service("edge", "nope"), tags: [{ key: "a" }] })).code).toBe("ResourceNotFoundException");
    expect((await refusal(t, tagActions, "UntagResource", { resourceArn: arn.task("edge", "nope"), tagKeys: ["a"] })).code).toBe("ResourceNotFoundException");
    expect((await refusal(t, tagActions, "TagResource", { resourceArn: arn.taskDefinition("webserver", 9), tags: [{ key: "a" }] })).code).toBe("ResourceNotFoundException");
    expect((await refusal(t, tagActions, "ListTagsForResource", { resourceArn: arn.service("edge", "nope") })).code).toBe("InvalidParameterException");
    // A container instance of another cluster is not found in this one.
    await t.request("POST", "/v1/clusters", { clusterName: "other" });
    expect((await refusal(t, tagActions, "TagResource", { resourceArn: arn.containerInstance("other", instanceId), tags: [{ key: "a" }] })).code).toBe("ResourceNotFoundException");
  });

  test("not an ECS ARN, or a short service ARN, is InvalidParameterException naming resourceArn", async () => {
    for (const resourceArn of ["edge", "arn:aws:s3:::bucket", "arn:aws:ecs:eu-west-1:123456789012:service/web"]) {
      const e = await refusal(t, tagActions, "TagResource", { resourceArn, tags: [{ key: "a" }] });
      expect(e.code).toBe("InvalidParameterException");
      expect(e.fields[0]?.path).toBe("resourceArn");
    }
  });
});
