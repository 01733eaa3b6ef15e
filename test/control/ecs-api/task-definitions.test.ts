import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { awsJson, ecsOk } from "../../helpers/aws-json.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => (t = await createTestOps()));
afterEach(() => t.close());

const td = (family: string) => ({ family, containerDefinitions: [{ name: "c", image: "busybox", memory: 64 }] });

describe("ECS task definitions over AWS JSON", () => {
  test("RegisterTaskDefinition takes the body as --cli-input-json sends it; DescribeTaskDefinition returns it", async () => {
    // What `aws ecs register-task-definition --cli-input-json file://td.json` sends: the file's members as they are.
    const body = {
      family: "web",
      networkMode: "bridge",
      requiresCompatibilities: ["EXTERNAL"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "web", image: "nginx", essential: true, portMappings: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }], environment: [{ name: "A", value: "1" }] },
      ],
    };
    const reg = await ecsOk(t.app, "RegisterTaskDefinition", body);
    expect(reg.taskDefinition).toMatchObject({ family: "web", revision: 1, status: "ACTIVE", cpu: "256", memory: "512" });
    expect(reg.taskDefinition.taskDefinitionArn).toEndWith(":task-definition/web:1");
    const desc = await ecsOk(t.app, "DescribeTaskDefinition", { taskDefinition: "web", include: ["TAGS"] });
    expect(desc.taskDefinition.containerDefinitions[0]).toMatchObject({ name: "web", portMappings: [expect.objectContaining({ containerPort: 80, hostPort: 8080 })] });
    expect(typeof desc.taskDefinition.registeredAt).toBe("number");
    const missing = await awsJson(t.app, "DescribeTaskDefinition", { taskDefinition: "nope" });
    expect([missing.status, missing.body.__type]).toEqual([400, "ClientException"]);
  });

  test("ListTaskDefinitions filters by familyPrefix and status, sorts ASC/DESC, and pages", async () => {
    for (const f of ["api", "api", "api", "web", "worker"]) await ecsOk(t.app, "RegisterTaskDefinition", td(f));
    await ecsOk(t.app, "DeregisterTaskDefinition", { taskDefinition: "api:2" });
    const names = (arns: string[]) => arns.map((a) => a.split("/").pop());
    expect(names((await ecsOk(t.app, "ListTaskDefinitions", {})).taskDefinitionArns)).toEqual(["api:1", "api:3", "web:1", "worker:1"]);
    expect(names((await ecsOk(t.app, "ListTaskDefinitions", { familyPrefix: "w", sort: "DESC" })).taskDefinitionArns)).toEqual(["worker:1", "web:1"]);
    expect(names((await ecsOk(t.app, "ListTaskDefinitions", { status: "INACTIVE" })).taskDefinitionArns)).toEqual(["api:2"]);
    const p1 = await ecsOk(t.app, "ListTaskDefinitions", { maxResults: 3 });
    expect(names(p1.taskDefinitionArns)).toEqual(["api:1", "api:3", "web:1"]);
    const p2 = await ecsOk(t.app, "ListTaskDefinitions", { maxResults: 3, nextToken: p1.nextToken });
    expect([names(p2.taskDefinitionArns), p2.nextToken]).toEqual([["worker:1"], undefined]);
    expect((await awsJson(t.app, "ListTaskDefinitions", { sort: "UP" })).body.message).toContain("sort");
  });

  test("ListTaskDefinitionFamilies: ACTIVE families, INACTIVE ones (no active revision), ALL", async () => {
    for (const f of ["api", "web", "old"]) await ecsOk(t.app, "RegisterTaskDefinition", td(f));
    await ecsOk(t.app, "DeregisterTaskDefinition", { taskDefinition: "old:1" });
    expect((await ecsOk(t.app, "ListTaskDefinitionFamilies", {})).families).toEqual(["api", "web"]);
    expect((await ecsOk(t.app, "ListTaskDefinitionFamilies", { status: "INACTIVE" })).families).toEqual(["old"]);
    expect((await ecsOk(t.app, "ListTaskDefinitionFamilies", { status: "ALL", familyPrefix: "o" })).families).toEqual(["old"]);
    const p = await ecsOk(t.app, "ListTaskDefinitionFamilies", { status: "ALL", maxResults: 2 });
    expect(p.families).toEqual(["api", "old"]);
    expect((await ecsOk(t.app, "ListTaskDefinitionFamilies", { status: "ALL", nextToken: p.nextToken })).families).toEqual(["web"]);
  });

  test("DeleteTaskDefinitions deletes INACTIVE revisions only; others are failures; deleted ones cannot launch", async () => {
    await ecsOk(t.app, "CreateCluster", {});
    await addInstance(t, "default");
    for (let i = 0; i < 2; i++) await ecsOk(t.app, "RegisterTaskDefinition", td("api"));
    await ecsOk(t.app, "DeregisterTaskDefinition", { taskDefinition: "api:1" });
    const r = await ecsOk(t.app, "DeleteTaskDefinitions", { taskDefinitions: ["api:1", "api:2", "api:9"] });
    expect(r.taskDefinitions).toEqual([expect.objectContaining({ family: "api", revision: 1, status: "DELETE_IN_PROGRESS" })]);
    expect(r.failures).toEqual([
      expect.objectContaining({ arn: expect.stringMatching(/task-definition\/api:2$/), reason: "TASK_DEFINITION_ACTIVE" }),
      expect.objectContaining({ arn: expect.stringMatching(/task-definition\/api:9$/), reason: "TASK_DEFINITION_NOT_FOUND" }),
    ]);
    expect((await ecsOk(t.app, "DescribeTaskDefinition", { taskDefinition: "api:1" })).taskDefinition.status).toBe("DELETE_IN_PROGRESS");
    expect((await ecsOk(t.app, "ListTaskDefinitions", { status: "DELETE_IN_PROGRESS" })).taskDefinitionArns).toEqual([expect.stringMatching(/api:1$/)]);
    const launch = await t.request("POST", "/v1/clusters/default/tasks", { taskDefinition: "api:1" });
    expect([launch.status, launch.body.error.message]).toEqual([400, "TaskDefinition is being deleted"]);
    // The revision number is never reused.
    expect((await ecsOk(t.app, "RegisterTaskDefinition", td("api"))).taskDefinition.revision).toBe(3);
    // A family without a revision is a field error naming the element.
    const bad = await awsJson(t.app, "DeleteTaskDefinitions", { taskDefinitions: ["api"] });
    expect([bad.body.__type, bad.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("taskDefinitions[0]")]);
  });

  test("DeregisterTaskDefinition makes the revision INACTIVE and answers it", async () => {
    await ecsOk(t.app, "RegisterTaskDefinition", td("api"));
    const r = await ecsOk(t.app, "DeregisterTaskDefinition", { taskDefinition: "api:1" });
    expect(r.taskDefinition).toMatchObject({ status: "INACTIVE", revision: 1 });
    expect(typeof r.taskDefinition.deregisteredAt).toBe("number");
  });
});
