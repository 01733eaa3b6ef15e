import { describe, expect, test } from "bun:test";
import { arn, nameOrArnOf, parseArn, shortName, taskDefinitionRefOf } from "../../shared/arn.ts";

describe("parseArn", () => {
  test("knows every ECS resource type Flotilla builds ARNs for", () => {
    expect(parseArn(arn.cluster("prod"))).toEqual({ kind: "cluster", name: "prod" });
    expect(parseArn(arn.containerInstance("prod", "abc123"))).toEqual({ kind: "container-instance", cluster: "prod", name: "abc123" });
    expect(parseArn(arn.task("prod", "f00d"))).toEqual({ kind: "task", cluster: "prod", name: "f00d" });
    expect(parseArn(arn.service("prod", "web"))).toEqual({ kind: "service", cluster: "prod", name: "web" });
    expect(parseArn(arn.taskDefinition("web", 3))).toEqual({ kind: "task-definition", name: "web:3", family: "web", revision: 3 });
  });

  test("reads ARNs as ECS writes them, old formats without the cluster included", () => {
    expect(parseArn("arn:aws:ecs:eu-west-1:123456789012:task-definition/api:12")).toMatchObject({ family: "api", revision: 12 });
    expect(parseArn("arn:aws:ecs:us-east-1:123456789012:task/0b69d5c0d3de4c5e8c5d2e8e8f1a2b3c")).toEqual({ kind: "task", name: "0b69d5c0d3de4c5e8c5d2e8e8f1a2b3c" });
    expect(parseArn("arn:aws:ecs:us-east-1:123456789012:service/web")).toEqual({ kind: "service", name: "web" });
  });

  test("anything else is not an ECS ARN", () => {
    for (const bad of [
      "web",
      "arn:aws:iam::123456789012:role/x",
      "arn:aws:ecs:us-east-1:1:capacity-provider/x",
      "arn:aws:ecs:us-east-1:1:task-definition/web",
      "arn:aws:ecs:us-east-1:1:task-definition/web:0",
      "arn:aws:ecs:us-east-1:1:cluster/a/b",
      "arn:aws:ecs:us-east-1:1:task/a/b/c",
      "arn:aws:ecs:us-east-1:1:service//web",
    ]) {
      expect(parseArn(bad)).toBeUndefined();
    }
  });
});

describe("one kind where one kind is meant", () => {
  test("a name, an id or the ARN of that kind resolve to the name", () => {
    expect(nameOrArnOf("cluster", "prod")).toEqual({ ok: true, name: "prod" });
    expect(nameOrArnOf("cluster", arn.cluster("prod"))).toEqual({ ok: true, name: "prod", cluster: undefined });
    expect(nameOrArnOf("task", arn.task("prod", "f00d"))).toEqual({ ok: true, name: "f00d", cluster: "prod" });
    expect(nameOrArnOf("service", arn.service("prod", "web"))).toMatchObject({ ok: true, name: "web" });
  });

  test("an ARN of another kind says what was expected and what was given", () => {
    expect(nameOrArnOf("task", arn.service("prod", "web"))).toEqual({ ok: false, message: "expected an id or a task ARN, got a service ARN" });
    expect(nameOrArnOf("cluster", arn.taskDefinition("web", 1))).toEqual({ ok: false, message: "expected a name or a cluster ARN, got a task definition ARN" });
    expect(nameOrArnOf("container-instance", "arn:aws:ecs:x:1:nonsense/1")).toMatchObject({ ok: false, message: expect.stringContaining("is not a valid ECS ARN") });
    expect(nameOrArnOf("service", "a/b")).toEqual({ ok: false, message: 'expected a name or a service ARN, got "a/b"' });
  });

  test("task definitions: family, family:revision or a task definition ARN", () => {
    expect(taskDefinitionRefOf("web")).toEqual({ ok: true, family: "web" });
    expect(taskDefinitionRefOf("web:7")).toEqual({ ok: true, family: "web", revision: 7 });
    expect(taskDefinitionRefOf(arn.taskDefinition("web", 7))).toEqual({ ok: true, family: "web", revision: 7 });
    expect(taskDefinitionRefOf(arn.service("prod", "web"))).toEqual({
      ok: false,
      message: "expected a task definition ARN, family or family:revision, got a service ARN",
    });
    expect(taskDefinitionRefOf("web:latest")).toMatchObject({ ok: false });
  });

  test("short names for tables", () => {
    expect(shortName(arn.taskDefinition("web", 7))).toBe("web:7");
    expect(shortName(arn.task("prod", "f00d"))).toBe("f00d");
    expect(shortName("plain")).toBe("plain");
  });
});
