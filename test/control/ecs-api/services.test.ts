import { afterEach, describe, expect, test } from "bun:test";
import { serviceActions } from "../../../control/ecs-api/actions/services.ts";
import { tagActions } from "../../../control/ecs-api/actions/tags.ts";
import { arn } from "../../../shared/arn.ts";
import { APP_V1, APP_V2, fakeFleet } from "../services/fake-fleet.ts";
import { call, refusal } from "./call.ts";
import { waiterVerdict } from "./waiters.ts";

const C = "ecs-svc";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup(instances = 2) {
  fleet = await fakeFleet(C, instances);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  return fleet.t;
}

/** Scheduler rounds with the agents reporting in between, until nothing changes (bounded). */
async function converge(rounds = 6) {
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(1000);
  }
}

const describeOne = async (name: string, extra: Record<string, unknown> = {}) =>
  (await call(fleet.t, serviceActions, "DescribeServices", { cluster: C, services: [name], ...extra })).services[0];

describe("CreateService / DescribeServices in ECS's shapes", () => {
  test("the ECS request shape creates a service; DescribeServices shows deployments, counts, events and, with include TAGS, tags", async () => {
    const t = await setup();
    const created = await call(t, serviceActions, "CreateService", {
      cluster: C,
      serviceName: "web",
      taskDefinition: "app",
      desiredCount: 2,
      launchType: "EXTERNAL",
      schedulingStrategy: "REPLICA",
      clientToken: "abc-123",
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true }, strategy: "ROLLING" },
      placementStrategy: [{ type: "spread", field: "attribute:ecs.availability-zone" }],
      placementConstraints: [{ type: "distinctInstance" }],
      healthCheckGracePeriodSeconds: 30,
      deploymentController: { type: "ECS" },
      propagateTags: "NONE",
      enableECSManagedTags: false,
      tags: [{ key: "team", value: "edge" }],
    });
    expect(created.service).toMatchObject({
      serviceName: "web",
      serviceArn: arn.service(C, "web"),
      clusterArn: arn.cluster(C),
      status: "ACTIVE",
      launchType: "EXTERNAL",
      desiredCount: 2,
      runningCount: 0,
      pendingCount: 0,
      taskDefinition: arn.taskDefinition("app", 1),
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } },
      placementStrategy: [{ type: "spread", field: "attribute:ecs.availability-zone" }],
      placementConstraints: [{ type: "distinctInstance" }],
      healthCheckGracePeriodSeconds: 30,
      tags: [{ key: "team", value: "edge" }],
    });
    expect(created.service.deployments).toEqual([expect.objectContaining({ status: "PRIMARY", rolloutState: "IN_PROGRESS", desiredCount: 2, runningCount: 0 })]);

    await converge();
    const svc = await describeOne("web", { include: ["TAGS"] });
    expect(svc).toMatchObject({ runningCount: 2, pendingCount: 0, tags: [{ key: "team", value: "edge" }] });
    expect(svc.deployments).toEqual([expect.objectContaining({ status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 })]);
    expect(svc.events.length).toBeGreaterThan(0);
    expect(typeof svc.createdAt).toBe("string");
    // Without include TAGS, no tags member (as ECS); the tags are the service ARN's.
    expect((await describeOne("web")).tags).toBeUndefined();
    expect((await call(t, tagActions, "ListTagsForResource", { resourceArn: arn.service(C, "web") })).tags).toEqual([{ key: "team", value: "edge" }]);
  });

  test("refusals: ECS's exception names and the failing member", async () => {
    const t = await setup();
    const base = { cluster: C, serviceName: "web", taskDefinition: "app", desiredCount: 1 };
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ ...base, cluster: "nope" }, "ClusterNotFoundException"],
      [{ ...base, desiredCount: -1 }, "InvalidParameterException", "desiredCount"],
      [{ ...base, launchType: "FARGATE" }, "InvalidParameterException", "launchType"],
      [{ ...base, loadBalancers: [{ targetGroupArn: "x", containerName: "app", containerPort: 80 }] }, "InvalidParameterException", "loadBalancers"],
      [{ ...base, deploymentController: { type: "CODE_DEPLOY" } }, "InvalidParameterException", "deploymentController"],
      [{ ...base, deploymentConfiguration: { alarms: { enable: true, rollback: true, alarmNames: ["a"] } } }, "InvalidParameterException", "deploymentConfiguration.alarms"],
      [{ ...base, deploymentConfiguration: { maximumPercent: 50 } }, "InvalidParameterException", "deploymentConfiguration.maximumPercent"],
      [{ ...base, tags: [{ key: "aws:owner", value: "me" }] }, "InvalidParameterException", "tags[0].key"],
      [{ ...base, bogus: 1 }, "InvalidParameterException", "bogus"],
      [{ ...base, taskDefinition: "nope" }, "ClientException"],
    ];
    for (const [input, code, path] of cases) {
      const e = await refusal(t, serviceActions, "CreateService", input);
      expect(e.code).toBe(code);
      if (path) expect(e.fields.map((f) => f.path)).toContain(path);
    }
    expect((await call(t, serviceActions, "ListServices", { cluster: C })).serviceArns).toEqual([]);
    await call(t, serviceActions, "CreateService", base);
    expect((await refusal(t, serviceActions, "CreateService", base)).code).toBe("InvalidParameterException");
    expect((await refusal(t, serviceActions, "UpdateService", { cluster: C, service: "nope", desiredCount: 1 })).code).toBe("ServiceNotFoundException");
    expect((await refusal(t, serviceActions, "DeleteService", { cluster: C, service: "nope" })).code).toBe("ServiceNotFoundException");
    expect((await refusal(t, serviceActions, "DescribeServices", { cluster: "nope", services: ["web"] })).code).toBe("ClusterNotFoundException");
    expect((await refusal(t, serviceActions, "DescribeServices", { cluster: C, services: [] })).fields[0]?.path).toBe("services");
    expect((await refusal(t, serviceActions, "DescribeServices", { cluster: C, services: ["web"], include: ["NOPE"] })).fields[0]?.path).toBe("include[0]");
  });

  test("DescribeServices: names and ARNs; unknown ones and another cluster's are failures with reason MISSING", async () => {
    const t = await setup(1);
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "app", desiredCount: 0 });
    const other = `arn:aws:ecs:eu-west-1:123456789012:service/other/web`;
    const res = await call(t, serviceActions, "DescribeServices", { cluster: C, services: ["web", arn.service(C, "web"), "ghost", other] });
    expect(res.services.map((s: any) => s.serviceArn)).toEqual([arn.service(C, "web"), arn.service(C, "web")]);
    expect(res.failures).toEqual([
      { arn: arn.service(C, "ghost"), reason: "MISSING" },
      { arn: other, reason: "MISSING" },
    ]);
  });
});

describe("UpdateService / DeleteService", () => {
  test("UpdateService scales in place and a new task definition or forceNewDeployment starts a deployment", async () => {
    const t = await setup();
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "app", desiredCount: 1 });
    const scaled = await call(t, serviceActions, "UpdateService", { cluster: C, service: arn.service(C, "web"), desiredCount: 3 });
    expect(scaled.service.desiredCount).toBe(3);
    expect(scaled.service.deployments).toHaveLength(1);
    await t.request("POST", "/v1/task-definitions", APP_V2);
    const rolled = await call(t, serviceActions, "UpdateService", { cluster: C, service: "web", taskDefinition: "app:2" });
    expect(rolled.service.deployments.map((d: any) => [d.status, d.taskDefinition])).toEqual([
      ["PRIMARY", arn.taskDefinition("app", 2)],
      ["ACTIVE", arn.taskDefinition("app", 1)],
    ]);
    const forced = await call(t, serviceActions, "UpdateService", { cluster: C, service: "web", forceNewDeployment: true });
    expect(forced.service.deployments).toHaveLength(3);
    expect((await refusal(t, serviceActions, "UpdateService", { cluster: C, service: "web", networkConfiguration: { awsvpcConfiguration: { subnets: ["s"] } } })).fields[0]?.path).toBe("networkConfiguration");
  });

  test("DeleteService: refused while scaled above 0 without force; then DRAINING, INACTIVE, and UpdateService says ServiceNotActiveException", async () => {
    const t = await setup();
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    await converge(3);
    const refused = await refusal(t, serviceActions, "DeleteService", { cluster: C, service: "web" });
    expect(refused.code).toBe("InvalidParameterException");
    expect(refused.message).toContain("The service cannot be stopped while it is scaled above 0");
    const deleted = await call(t, serviceActions, "DeleteService", { cluster: C, service: "web", force: true });
    expect(deleted.service).toMatchObject({ status: "DRAINING", desiredCount: 0 });
    expect((await refusal(t, serviceActions, "UpdateService", { cluster: C, service: "web", desiredCount: 1 })).code).toBe("ServiceNotActiveException");
    await converge(4);
    expect((await describeOne("web")).status).toBe("INACTIVE");
    // ListServices leaves INACTIVE services out; DescribeServices still shows them, as ECS does.
    expect((await call(t, serviceActions, "ListServices", { cluster: C })).serviceArns).toEqual([]);
    // A scaled-down service is deleted without force.
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "idle", taskDefinition: "app", desiredCount: 0 });
    expect((await call(t, serviceActions, "DeleteService", { cluster: C, service: "idle" })).service.status).toBe("DRAINING");
  });
});

describe("ListServices", () => {
  test("ARNs in pages of maxResults (ECS's default 10), filtered by schedulingStrategy and launchType", async () => {
    const t = await setup(1);
    const names = Array.from({ length: 12 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);
    for (const serviceName of names) await call(t, serviceActions, "CreateService", { cluster: C, serviceName, taskDefinition: "app", desiredCount: 0 });
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "zz-daemon", taskDefinition: "app", schedulingStrategy: "DAEMON" });
    const first = await call(t, serviceActions, "ListServices", { cluster: C });
    expect(first.serviceArns).toHaveLength(10);
    const rest = await call(t, serviceActions, "ListServices", { cluster: C, nextToken: first.nextToken });
    expect(rest.nextToken).toBeUndefined();
    expect([...first.serviceArns, ...rest.serviceArns]).toEqual([...names, "zz-daemon"].map((n) => arn.service(C, n)));

    const pages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(t, serviceActions, "ListServices", { cluster: C, maxResults: 5, ...(nextToken ? { nextToken } : {}) });
      expect(page.serviceArns.length).toBeLessThanOrEqual(5);
      pages.push(...page.serviceArns);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toHaveLength(13);

    expect((await call(t, serviceActions, "ListServices", { cluster: C, schedulingStrategy: "DAEMON" })).serviceArns).toEqual([arn.service(C, "zz-daemon")]);
    expect((await call(t, serviceActions, "ListServices", { cluster: C, launchType: "EXTERNAL", maxResults: 100 })).serviceArns).toHaveLength(13);
    expect((await call(t, serviceActions, "ListServices", { cluster: C, launchType: "FARGATE" })).serviceArns).toEqual([]);
    expect((await refusal(t, serviceActions, "ListServices", { cluster: C, maxResults: 101 })).code).toBe("InvalidParameterException");
    expect((await refusal(t, serviceActions, "ListServices", { cluster: C, nextToken: "garbage" })).fields[0]?.path).toBe("nextToken");
    expect((await refusal(t, serviceActions, "ListServices", { cluster: "nope" })).code).toBe("ClusterNotFoundException");
    expect((await refusal(t, serviceActions, "ListServices", { cluster: "nope", launchType: "FARGATE" })).code).toBe("ClusterNotFoundException");
  });
});

describe("aws ecs wait services-stable / services-inactive acceptors on DescribeServices output", () => {
  test("retry while tasks start and while a rollout has two deployments; success once one deployment runs desiredCount; failure on DRAINING, INACTIVE, MISSING", async () => {
    const t = await setup();
    await call(t, serviceActions, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    const stable = () => waiterVerdict(t, "services-stable", { cluster: C, services: ["web"] });
    expect(await stable()).toBe("RETRY");
    await fleet.round();
    // Placed but not yet reported RUNNING by the agents.
    expect(await stable()).toBe("RETRY");
    await converge();
    expect(await stable()).toBe("SUCCESS");

    await t.request("POST", "/v1/task-definitions", APP_V2);
    await call(t, serviceActions, "UpdateService", { cluster: C, service: "web", taskDefinition: "app:2" });
    // runningCount == desiredCount (the old tasks run) but two deployments: not stable.
    expect((await describeOne("web")).runningCount).toBe(2);
    expect(await stable()).toBe("RETRY");
    await converge(8);
    const svc = await describeOne("web");
    expect(svc.deployments).toEqual([expect.objectContaining({ taskDefinition: arn.taskDefinition("app", 2), rolloutState: "COMPLETED", runningCount: 2 })]);
    expect(await stable()).toBe("SUCCESS");

    expect(await waiterVerdict(t, "services-stable", { cluster: C, services: ["web", "ghost"] })).toBe("FAILURE");
    await call(t, serviceActions, "DeleteService", { cluster: C, service: "web", force: true });
    expect(await stable()).toBe("FAILURE");
    expect(await waiterVerdict(t, "services-inactive", { cluster: C, services: ["web"] })).toBe("RETRY");
    await converge(4);
    expect((await describeOne("web")).status).toBe("INACTIVE");
    expect(await stable()).toBe("FAILURE");
    expect(await waiterVerdict(t, "services-inactive", { cluster: C, services: ["web"] })).toBe("SUCCESS");
  });
});
