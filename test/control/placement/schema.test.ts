import { describe, expect, test } from "bun:test";
import { placementConstraintsSchema, placementStrategiesSchema, requiredAttributeSchema } from "../../../control/placement/schema.ts";

describe("placement constraint schema", () => {
  test("accepts ECS shapes", () => {
    const ok = placementConstraintsSchema.safeParse([{ type: "distinctInstance" }, { type: "memberOf", expression: "attribute:ecs.instance-type =~ t3.*" }]);
    expect(ok.success).toBe(true);
  });

  test("a memberOf parse error becomes an issue naming position and expected token", () => {
    const r = placementConstraintsSchema.safeParse([{ type: "memberOf", expression: "attribute:zone in [a b]" }]);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(issue.path).toEqual([0, "expression"]);
    expect(issue.message).toBe("invalid expression at position 21: expected ',' or ']', found 'b'");
  });

  test("distinctInstance takes no expression; unknown types are refused", () => {
    expect(placementConstraintsSchema.safeParse([{ type: "distinctInstance", expression: "x" }]).success).toBe(false);
    expect(placementConstraintsSchema.safeParse([{ type: "sameInstance" }]).success).toBe(false);
  });

  test("at most 10", () => {
    expect(placementConstraintsSchema.safeParse(Array(11).fill({ type: "distinctInstance" })).success).toBe(false);
  });
});

describe("placement strategy schema", () => {
  test("accepts ECS shapes", () => {
    const r = placementStrategiesSchema.safeParse([
      { type: "spread", field: "attribute:ecs.availability-zone" },
      { type: "spread", field: "instanceId" },
      { type: "spread", field: "host" },
      { type: "binpack", field: "memory" },
      { type: "random" },
    ]);
    expect(r.success).toBe(true);
  });

  test("refuses fields the engine cannot rank by", () => {
    expect(placementStrategiesSchema.safeParse([{ type: "binpack", field: "disk" }]).success).toBe(false);
    expect(placementStrategiesSchema.safeParse([{ type: "spread", field: "zone" }]).success).toBe(false);
    expect(placementStrategiesSchema.safeParse([{ type: "spread" }]).success).toBe(false);
    expect(placementStrategiesSchema.safeParse([{ type: "random", field: "cpu" }]).success).toBe(false);
  });

  test("at most 5", () => {
    expect(placementStrategiesSchema.safeParse(Array(6).fill({ type: "random" })).success).toBe(false);
  });
});

test("required attribute schema", () => {
  expect(requiredAttributeSchema.safeParse({ name: "ecs.capability.docker-remote-api.1.30" }).success).toBe(true);
  expect(requiredAttributeSchema.safeParse({ name: "has space" }).success).toBe(false);
});
