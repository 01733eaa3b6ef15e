import { afterEach, describe, expect, test } from "bun:test";
import { applyPresence } from "../../../control/ops/instances.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { resourceInteger } from "../../../shared/instance-resources.ts";
import { awsJson, ecsOk } from "../../helpers/aws-json.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { fakeFleet } from "../services/fake-fleet.ts";

let t: TestOps;
let closeFleet: (() => void) | undefined;
afterEach(() => {
  t?.close();
  closeFleet?.();
  closeFleet = undefined;
});

const C = "edge";
const TD = {
  family: "job",
  containerDefinitions: [{ name: "main", image: "busybox", memory: 128, command: ["sleep", "60"], environment: [{ name: "KEEP", value: "1" }, { name: "MODE", value: "def" }] }],
};

async function setup(instances: { cpu: number; memory: number }[] = [{ cpu: 1024, memory: 1024 }]) {
  t = await createTestOps();
  await ecsOk(t.app, "CreateCluster", { clusterName: C });
  await ecsOk(t.app, "RegisterTaskDefinition", TD);
  const ids: string[] = [];
  for (const r of instances) ids.push(await addInstance(t, C, r));
  return ids;
}

const remainingMemory = async (id: string) =>
  resourceInteger((await t.request("GET", `/v1/clusters/${C}/container-instances/${id}`)).body.containerInstance.remainingResources, "MEMORY");

describe("RunTask over AWS JSON", () => {
  test("answers tasks and failures with ARNs and ECS's reasons, times as epoch seconds", async () => {
    await setup([{ cpu: 1024, memory: 300 }]);
    const r = await ecsOk(t.app, "RunTask", { cluster: C, taskDefinition: "job", count: 3, launchType: "EXTERNAL", startedBy: "ci" });
    expect(r.tasks).toHaveLength(2);
    expect(r.tasks[0]).toMatchObject({ lastStatus: "PROVISIONING", desiredStatus: "RUNNING", launchType: "EXTERNAL", startedBy: "ci", group: "family:job" });
    expect(r.tasks[0].taskArn).toMatch(/:task\/edge\/[^/]+$/);
    expect(typeof r.tasks[0].createdAt).toBe("number");
    expect(r.failures).toEqual([{ arn: expect.stringMatching(/task-definition\/job:1$/), reason: "RESOURCE:MEMORY", detail: expect.any(String) }]);
  });

  test("overrides are stored, shown, booked and sent to the agent; a wrong container name is refused naming the path", async () => {
    const [inst] = await setup();
    const overrides = { containerOverrides: [{ name: "main", command: ["echo", "hi"], environment: [{ name: "MODE", value: "override" }], memory: 256 }] };
    const r = await ecsOk(t.app, "RunTask", { cluster: C, taskDefinition: "job", overrides });
    const task = r.tasks[0];
    expect(task.overrides.containerOverrides).toEqual([overrides.containerOverrides[0]]);
    expect(task.memory).toBe("256");
    // The reservation is the overridden memory, not the definition's 128.
    expect(await remainingMemory(inst!)).toBe(1024 - 256);
    const desired = await nextDesiredState(t.ctx, inst!, false);
    expect(desired!.tasks[0]!.overrides).toEqual(overrides);
    const described = await ecsOk(t.app, "DescribeTasks", { cluster: C, tasks: [task.taskArn] });
    expect(described.tasks[0].overrides.containerOverrides[0].command).toEqual(["echo", "hi"]);

    const bad = await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "job", overrides: { containerOverrides: [{ name: "nope", command: ["x"] }] } });
    expect([bad.body.__type, bad.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("overrides.containerOverrides[0].name")]);
    const worse = await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "job", overrides: { containerOverrides: [{ name: "main", memory: 32, memoryReservation: 64 }] } });
    expect(worse.body.__type).toBe("InvalidParameterException");
    expect(worse.body.message).toContain("memoryReservation");
    const unknown = await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "job", overrides: { containerOverrides: [{ name: "main", environmentFiles: [] }] } });
    expect(unknown.body.message).toContain("overrides.containerOverrides[0].environmentFiles");
  });

  test("a launch type other than EXTERNAL and members Flotilla lacks are refused naming the member", async () => {
    await setup();
    for (const [input, member] of [
      [{ launchType: "FARGATE" }, "launchType"],
      [{ launchType: "EC2" }, "launchType"],
      [{ networkConfiguration: { awsvpcConfiguration: { subnets: ["s-1"] } } }, "networkConfiguration"],
      [{ capacityProviderStrategy: [{ capacityProvider: "x" }] }, "capacityProviderStrategy"],
    ] as const) {
      const r = await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "job", ...input });
      expect([r.status, r.body.__type]).toEqual([400, "InvalidParameterException"]);
      expect(r.body.message).toContain(member);
    }
    // ECS's defaults ask for nothing and pass.
    expect((await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "job", enableECSManagedTags: false, enableExecuteCommand: false })).status).toBe(200);
    expect((await ecsOk(t.app, "ListTasks", { cluster: C })).taskArns).toHaveLength(1);
  });

  test("clientToken: the same request again returns the same tasks and launches nothing; another request is refused", async () => {
    const [inst] = await setup();
    const req = { cluster: C, taskDefinition: "job", count: 2, clientToken: "tok-1" };
    const first = await ecsOk(t.app, "RunTask", req);
    const changes = t.desiredChanges.length;
    const again = await ecsOk(t.app, "RunTask", req);
    expect(again.tasks.map((x: any) => x.taskArn).sort()).toEqual(first.tasks.map((x: any) => x.taskArn).sort());
    expect(t.desiredChanges.length).toBe(changes);
    expect((await ecsOk(t.app, "ListTasks", { cluster: C })).taskArns).toHaveLength(2);
    expect(await remainingMemory(inst!)).toBe(1024 - 256);

    const other = await awsJson(t.app, "RunTask", { ...req, count: 1 });
    expect([other.body.__type, other.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("clientToken")]);
    // Concurrent calls with one new token: one launch.
    const both = await Promise.all([1, 2].map(() => ecsOk(t.app, "RunTask", { ...req, clientToken: "tok-2", count: 1 })));
    expect(both[0].tasks[0].taskArn).toBe(both[1].tasks[0].taskArn);
    expect((await ecsOk(t.app, "ListTasks", { cluster: C })).taskArns).toHaveLength(3);
    // Without a token every call launches.
    await ecsOk(t.app, "RunTask", { cluster: C, taskDefinition: "job" });
    expect((await ecsOk(t.app, "ListTasks", { cluster: C })).taskArns).toHaveLength(4);
  });

  test("tags and propagateTags TASK_DEFINITION; DescribeTasks shows them with include TAGS", async () => {
    await setup();
    await ecsOk(t.app, "RegisterTaskDefinition", { ...TD, family: "tagged", tags: [{ key: "owner", value: "ops" }] });
    const r = await ecsOk(t.app, "RunTask", { cluster: C, taskDefinition: "tagged", tags: [{ key: "run", value: "1" }], propagateTags: "TASK_DEFINITION" });
    const arn = r.tasks[0].taskArn;
    const d = await ecsOk(t.app, "DescribeTasks", { cluster: C, tasks: [arn], include: ["TAGS"] });
    expect(d.tasks[0].tags).toEqual([{ key: "owner", value: "ops" }, { key: "run", value: "1" }]);
    expect((await ecsOk(t.app, "DescribeTasks", { cluster: C, tasks: [arn] })).tasks[0].tags).toBeUndefined();
    expect((await awsJson(t.app, "RunTask", { cluster: C, taskDefinition: "tagged", propagateTags: "SERVICE" })).body.message).toContain("propagateTags");
  });
});

describe("CreateCluster and RegisterTaskDefinition tags", () => {
  test("are stored as resource tags and shown with include TAGS", async () => {
    t = await createTestOps();
    const c = await ecsOk(t.app, "CreateCluster", { clusterName: "tagged", tags: [{ key: "env", value: "prod" }] });
    expect(c.cluster.tags).toEqual([{ key: "env", value: "prod" }]);
    expect((await ecsOk(t.app, "DescribeClusters", { clusters: ["tagged"], include: ["TAGS"] })).clusters[0].tags).toEqual([{ key: "env", value: "prod" }]);
    const reg = await ecsOk(t.app, "RegisterTaskDefinition", { ...TD, tags: [{ key: "team", value: "a" }] });
    expect(reg.tags).toEqual([{ key: "team", value: "a" }]);
    expect(reg.taskDefinition.tags).toBeUndefined();
    const d = await ecsOk(t.app, "DescribeTaskDefinition", { taskDefinition: "job", include: ["TAGS"] });
    expect(d.tags).toEqual([{ key: "team", value: "a" }]);
    expect((await ecsOk(t.app, "ListTagsForResource", { resourceArn: reg.taskDefinition.taskDefinitionArn })).tags).toEqual([{ key: "team", value: "a" }]);
    // Deleted and created again, the cluster is a new resource: its old tags are gone.
    await ecsOk(t.app, "DeleteCluster", { cluster: "tagged" });
    const again = await ecsOk(t.app, "CreateCluster", { clusterName: "tagged" });
    expect((await ecsOk(t.app, "DescribeClusters", { clusters: [again.cluster.clusterArn], include: ["TAGS"] })).clusters[0].tags).toEqual([]);
    const bad = await awsJson(t.app, "CreateCluster", { clusterName: "x", tags: [{ key: "aws:mine", value: "v" }] });
    expect([bad.body.__type, bad.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("tags[0].key")]);
  });
});

describe("StartTask over AWS JSON", () => {
  test("places one task on each named instance, exactly there; ECS's failure reasons otherwise", async () => {
    const [a, b, small, offline] = await setup([
      { cpu: 1024, memory: 1024 },
      { cpu: 1024, memory: 1024 },
      { cpu: 1024, memory: 64 },
      { cpu: 1024, memory: 1024 },
    ]);
    await applyPresence(t.ctx, offline!, { connected: false, epoch: 2 });
    const r = await ecsOk(t.app, "StartTask", {
      cluster: C,
      taskDefinition: "job",
      containerInstances: [a, `arn:aws:ecs:eu-west-1:123456789012:container-instance/${C}/${b}`, small, offline, "0123456789abcdef"],
      startedBy: "me",
      overrides: { containerOverrides: [{ name: "main", environment: [{ name: "X", value: "y" }] }] },
    });
    expect(r.tasks.map((x: any) => x.containerInstanceId).sort()).toEqual([a, b].sort());
    expect(r.tasks[0].overrides.containerOverrides[0].environment).toEqual([{ name: "X", value: "y" }]);
    expect(r.failures.map((f: any) => [f.arn.split("/").pop(), f.reason])).toEqual([
      [small, "RESOURCE:MEMORY"],
      [offline, "AGENT"],
      ["0123456789abcdef", "MISSING"],
    ]);
    const bad = await awsJson(t.app, "StartTask", { cluster: C, taskDefinition: "job", containerInstances: [] });
    expect(bad.body.message).toContain("containerInstances");
  });
});

describe("StopTask and DescribeTasks", () => {
  test("StopTask asks the task to stop with the reason; DescribeTasks answers MISSING for tasks it does not have", async () => {
    await setup();
    const run = await ecsOk(t.app, "RunTask", { cluster: C, taskDefinition: "job" });
    const arn = run.tasks[0].taskArn;
    const stopped = await ecsOk(t.app, "StopTask", { cluster: C, task: arn, reason: "done here" });
    expect(stopped.task).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: "done here", stopCode: "UserInitiated" });
    expect(typeof stopped.task.stoppingAt).toBe("number");
    const d = await ecsOk(t.app, "DescribeTasks", { cluster: C, tasks: [run.tasks[0].taskId, "fffffffffffffff0"] });
    expect(d.tasks.map((x: any) => x.taskArn)).toEqual([arn]);
    expect(d.failures).toEqual([{ arn: expect.stringMatching(/:task\/edge\/fffffffffffffff0$/), reason: "MISSING" }]);
    expect((await awsJson(t.app, "StopTask", { cluster: C, task: "fffffffffffffff0" })).body.__type).toBe("InvalidParameterException");
    expect((await awsJson(t.app, "DescribeTasks", { cluster: "ghost", tasks: [arn] })).body.__type).toBe("ClusterNotFoundException");
  });
});

describe("ListTasks filters", () => {
  test("containerInstance, family, startedBy, desiredStatus, launchType, and paging", async () => {
    const [a, b] = await setup([{ cpu: 4096, memory: 4096 }, { cpu: 4096, memory: 4096 }]);
    await ecsOk(t.app, "RegisterTaskDefinition", { ...TD, family: "other" });
    const onA = await ecsOk(t.app, "StartTask", { cluster: C, taskDefinition: "job", containerInstances: [a], startedBy: "alice" });
    await ecsOk(t.app, "StartTask", { cluster: C, taskDefinition: "job", containerInstances: [b], startedBy: "bob" });
    await ecsOk(t.app, "StartTask", { cluster: C, taskDefinition: "other", containerInstances: [b], startedBy: "bob" });
    const stopped = await ecsOk(t.app, "StartTask", { cluster: C, taskDefinition: "other", containerInstances: [a] });
    await ecsOk(t.app, "StopTask", { cluster: C, task: stopped.tasks[0].taskArn });

    const list = async (f: Record<string, unknown>) => (await ecsOk(t.app, "ListTasks", { cluster: C, ...f })).taskArns as string[];
    expect(await list({})).toHaveLength(3);
    expect(await list({ containerInstance: a })).toEqual([onA.tasks[0].taskArn]);
    expect(await list({ family: "other" })).toHaveLength(1);
    expect(await list({ startedBy: "bob" })).toHaveLength(2);
    expect(await list({ desiredStatus: "STOPPED" })).toEqual([stopped.tasks[0].taskArn]);
    expect(await list({ desiredStatus: "PENDING" })).toEqual([]);
    expect(await list({ launchType: "EXTERNAL" })).toHaveLength(3);
    expect(await list({ launchType: "FARGATE" })).toEqual([]);

    const p1 = await ecsOk(t.app, "ListTasks", { cluster: C, maxResults: 2 });
    const p2 = await ecsOk(t.app, "ListTasks", { cluster: C, maxResults: 2, nextToken: p1.nextToken });
    expect([p1.taskArns.length, p2.taskArns.length, p2.nextToken]).toEqual([2, 1, undefined]);
    expect(new Set([...p1.taskArns, ...p2.taskArns]).size).toBe(3);

    expect((await awsJson(t.app, "ListTasks", { cluster: C, serviceName: "nope" })).body.__type).toBe("ServiceNotFoundException");
    expect((await awsJson(t.app, "ListTasks", { cluster: C, desiredStatus: "DONE" })).body.message).toContain("desiredStatus");
    expect((await awsJson(t.app, "ListTasks", { cluster: C, colour: "red" })).body.message).toContain("colour");
    expect((await awsJson(t.app, "ListTasks", { cluster: "ghost" })).body.__type).toBe("ClusterNotFoundException");
  });

  test("serviceName lists the service's tasks only", async () => {
    const fleet = await fakeFleet("svc-c", 1);
    closeFleet = fleet.close;
    const app = fleet.t.app;
    await ecsOk(app, "RegisterTaskDefinition", { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 64 }] });
    await fleet.t.request("POST", "/v1/clusters/svc-c/services", { serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    await fleet.round();
    await ecsOk(app, "RunTask", { cluster: "svc-c", taskDefinition: "app" });
    const svcTasks = (await ecsOk(app, "ListTasks", { cluster: "svc-c", serviceName: "web" })).taskArns;
    expect(svcTasks).toHaveLength(2);
    expect((await ecsOk(app, "ListTasks", { cluster: "svc-c" })).taskArns).toHaveLength(3);
    const described = await ecsOk(app, "DescribeTasks", { cluster: "svc-c", tasks: svcTasks });
    expect(described.tasks.every((x: any) => x.group === "service:web")).toBe(true);
  });
});
