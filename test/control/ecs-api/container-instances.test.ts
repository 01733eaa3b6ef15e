import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApi } from "../../../control/api/app.ts";
import { applyPresence } from "../../../control/ops/instances.ts";
import { arn } from "../../../shared/arn.ts";
import { ManualClock } from "../services/fake-fleet.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { call, refusal } from "./call.ts";

const C = "ecs-ci";
let t: TestOps;
/** Four instances: a and b in zone a (b arm64), c in zone b, d draining. */
let a: string, b: string, c: string, d: string;

const APP = { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 64 }] };
const list = async (input: Record<string, unknown> = {}) => (await call(t.app, "ListContainerInstances", { cluster: C, ...input })).containerInstanceArns as string[];
const ci = (id: string) => arn.containerInstance(C, id);

beforeAll(async () => {
  // A hand-driven clock: registration times differ, so "oldest first" is a b c d.
  const clock = new ManualClock();
  t = await createTestOps(clock);
  await t.request("POST", "/v1/clusters", { clusterName: C });
  a = await addInstance(t, C, undefined, { zone: "a" });
  clock.advance(1000);
  b = await addInstance(t, C, undefined, { zone: "a", "ecs.cpu-architecture": "arm64" });
  clock.advance(1000);
  c = await addInstance(t, C, undefined, { zone: "b" });
  clock.advance(1000);
  d = await addInstance(t, C, undefined, { zone: "b" });
  await call(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: [d], status: "DRAINING" });
  expect((await t.request("POST", "/v1/task-definitions", APP)).status).toBe(201);
  // One task of group "family:app" on c, through RunTask's own placement.
  const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app", placementConstraints: [{ type: "memberOf", expression: `ec2InstanceId == ${c}` }] });
  expect(run.body.tasks).toHaveLength(1);
});
afterAll(() => t.close());

describe("ListContainerInstances", () => {
  test("ARNs of every instance but INACTIVE ones, oldest first; status keeps one status", async () => {
    expect(await list()).toEqual([a, b, c, d].map(ci));
    expect(await list({ status: "DRAINING" })).toEqual([ci(d)]);
    expect(await list({ status: "ACTIVE" })).toEqual([a, b, c].map(ci));
    expect(await list({ status: "REGISTERING" })).toEqual([]);
    expect((await refusal(t.app, "ListContainerInstances", { cluster: C, status: "INACTIVE" })).paths[0]).toBe("status");
    expect((await refusal(t.app, "ListContainerInstances", { cluster: "nope" })).code).toBe("ClusterNotFoundException");
  });

  test("filter: the cluster query language as memberOf reads it (attributes, task:group, runningTasksCount, agentConnected, and/or/not)", async () => {
    expect(await list({ filter: "attribute:zone == a" })).toEqual([a, b].map(ci));
    expect(await list({ filter: "attribute:zone == a and attribute:ecs.cpu-architecture == arm64" })).toEqual([ci(b)]);
    expect(await list({ filter: "attribute:zone in [b] or attribute:ecs.cpu-architecture =~ arm.*" })).toEqual([b, c, d].map(ci));
    expect(await list({ filter: "not(attribute:zone == a)" })).toEqual([c, d].map(ci));
    expect(await list({ filter: "task:group == family:app" })).toEqual([ci(c)]);
    expect(await list({ filter: "runningTasksCount > 0" })).toEqual([ci(c)]);
    expect(await list({ filter: "attribute:missing exists" })).toEqual([]);
    expect(await list({ filter: "attribute:zone == b", status: "ACTIVE" })).toEqual([ci(c)]);
    await applyPresence(t.ctx, a, { connected: false, epoch: 5 });
    expect(await list({ filter: "agentConnected == false" })).toEqual([ci(a)]);
    await applyPresence(t.ctx, a, { connected: true, epoch: 6 });
    // An attribute set through PutAttributes is seen by the filter at once.
    await call(t.app, "PutAttributes", { cluster: C, attributes: [{ name: "rack", value: "r7", targetId: ci(a) }] });
    expect(await list({ filter: "attribute:rack == r7" })).toEqual([ci(a)]);
  });

  test("a filter that does not parse is InvalidParameterException naming filter and the position", async () => {
    const e = await refusal(t.app, "ListContainerInstances", { cluster: C, filter: "attribute:zone ==" });
    expect(e.code).toBe("InvalidParameterException");
    expect(e.paths[0]).toBe("filter");
    expect(e.message).toContain("position");
  });

  test("pages of maxResults with nextToken; the REST route takes ?filter= too", async () => {
    const first = await call(t.app, "ListContainerInstances", { cluster: C, maxResults: 3 });
    expect(first.containerInstanceArns).toEqual([a, b, c].map(ci));
    const second = await call(t.app, "ListContainerInstances", { cluster: C, maxResults: 3, nextToken: first.nextToken });
    expect(second).toEqual({ containerInstanceArns: [ci(d)] });
    const rest = await t.request("GET", `/v1/clusters/${C}/container-instances?filter=${encodeURIComponent("attribute:zone == a")}`);
    expect(rest.body.containerInstances.map((x: any) => x.containerInstanceId)).toEqual([a, b]);
    expect((await t.request("GET", `/v1/clusters/${C}/container-instances?filter=${encodeURIComponent("zone ==")}`)).status).toBe(400);
    expect((await t.request("GET", `/v1/clusters/${C}/container-instances?status=DRAINING`)).body.containerInstances.map((x: any) => x.containerInstanceId)).toEqual([d]);
  });
});

describe("DescribeContainerInstances", () => {
  test("ids and ARNs; unknown ones and another cluster's are failures MISSING; include adds tags and health", async () => {
    await call(t.app, "TagResource", { resourceArn: ci(a), tags: [{ key: "owner", value: "ops" }] });
    const res = await call(t.app, "DescribeContainerInstances", {
      cluster: C,
      containerInstances: [a, ci(b), "0123456789abcdef", `arn:aws:ecs:eu-west-1:123456789012:container-instance/other/${c}`],
    });
    expect(res.containerInstances.map((x: any) => x.containerInstanceArn)).toEqual([ci(a), ci(b)]);
    expect(res.containerInstances[0]).toMatchObject({ status: "ACTIVE", agentConnected: true, runningTasksCount: 0, pendingTasksCount: 0 });
    expect(res.containerInstances[0].attributes).toContainEqual({ name: "zone", value: "a" });
    expect(res.containerInstances[0].tags).toBeUndefined();
    expect(res.containerInstances[0].healthStatus).toBeUndefined();
    expect(res.failures).toEqual([
      { arn: ci("0123456789abcdef"), reason: "MISSING" },
      { arn: `arn:aws:ecs:eu-west-1:123456789012:container-instance/other/${c}`, reason: "MISSING" },
    ]);
    const full = await call(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [a], include: ["TAGS", "CONTAINER_INSTANCE_HEALTH"] });
    expect(full.containerInstances[0].tags).toEqual([{ key: "owner", value: "ops" }]);
    expect(full.containerInstances[0].healthStatus).toEqual({ overallStatus: "INSUFFICIENT_DATA", details: [] });
    expect((await refusal(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [] })).paths[0]).toBe("containerInstances");
    expect((await refusal(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [arn.task(C, "x")] })).paths[0]).toBe("containerInstances[0]");
  });
});

describe("UpdateContainerInstancesState / DeregisterContainerInstance", () => {
  test("DRAINING and back to ACTIVE; unknown instances are failures; a bad status fails the whole call", async () => {
    const res = await call(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: [a, "0123456789abcdef"], status: "DRAINING" });
    expect(res.containerInstances.map((x: any) => [x.containerInstanceArn, x.status])).toEqual([[ci(a), "DRAINING"]]);
    expect(res.failures).toEqual([{ arn: ci("0123456789abcdef"), reason: "MISSING" }]);
    // A DRAINING instance takes no new task.
    const refused = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app", placementConstraints: [{ type: "memberOf", expression: `ec2InstanceId == ${a}` }] });
    expect(refused.body.tasks).toEqual([]);
    await call(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: [ci(a)], status: "ACTIVE" });
    expect(await list({ status: "DRAINING" })).toEqual([ci(d)]);
    for (const status of ["INACTIVE", "REGISTERING", undefined]) {
      const e = await refusal(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: ["0123456789abcdef"], status });
      expect(e.code).toBe("InvalidParameterException");
      expect(e.paths[0]).toBe("status");
    }
    expect((await refusal(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: Array(11).fill(a), status: "ACTIVE" })).paths[0]).toBe("containerInstances");
  });

  test("deregistering an instance with tasks needs force (ECS's 'Found running tasks on the instance.'); the agent's session is revoked", async () => {
    // The front door as createControl builds it: createApi's instanceRevoked reaches the action.
    const revoked: string[] = [];
    const app = createApi(t.ctx, { instanceRevoked: (id) => void revoked.push(id) });
    const deregister = (input: Record<string, unknown>) => call(app, "DeregisterContainerInstance", input);
    const e = await refusal(app, "DeregisterContainerInstance", { cluster: C, containerInstance: c });
    expect(e.code).toBe("InvalidParameterException");
    expect(e.message).toBe("Found running tasks on the instance.");
    expect(revoked).toEqual([]);
    expect(await list()).toContain(ci(c));
    // Without tasks, no force needed.
    const plain = await deregister({ cluster: C, containerInstance: ci(d) });
    expect(plain.containerInstance).toMatchObject({ containerInstanceArn: ci(d), status: "INACTIVE", agentConnected: false });
    const forced = await deregister({ cluster: C, containerInstance: c, force: true });
    expect(forced.containerInstance.status).toBe("INACTIVE");
    expect(revoked).toEqual([d, c]);
    // Its task is recorded stopped; the instance is gone from lists, still described, and can't change state.
    const tasks = (await t.request("GET", `/v1/clusters/${C}/tasks?desiredStatus=STOPPED`)).body.tasks as any[];
    expect(tasks.map((x) => x.lastStatus)).toEqual(["STOPPED"]);
    expect(await list()).toEqual([a, b].map(ci));
    const described = await call(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [c] });
    expect(described.containerInstances[0].status).toBe("INACTIVE");
    const upd = await call(t.app, "UpdateContainerInstancesState", { cluster: C, containerInstances: [c], status: "ACTIVE" });
    expect(upd.containerInstances).toEqual([]);
    expect(upd.failures).toEqual([expect.objectContaining({ arn: ci(c), reason: "INACTIVE" })]);
    expect((await refusal(t.app, "DeregisterContainerInstance", { cluster: C, containerInstance: "0123456789abcdef" })).code).toBe("InvalidParameterException");
    // Another cluster's ARN of an instance of this one names nothing (REST too).
    expect((await refusal(t.app, "DeregisterContainerInstance", { cluster: C, containerInstance: arn.containerInstance("other", a) })).code).toBe("InvalidParameterException");
    expect((await t.request("GET", `/v1/clusters/${C}/container-instances/${encodeURIComponent(arn.containerInstance("other", a))}`)).status).toBe(404);
    expect(await list()).toContain(ci(a));
  });
});
