import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * Fields that name one kind of resource take its name, id or ARN — and only that kind of ARN.
 * Another kind (a service ARN as a task definition) is a 400 naming the field, never the "last
 * path segment" read as whatever it happens to match.
 */
const C = "refs";
let t: TestOps;
let instanceArn: string;
let taskArn: string;
let tdArn: string;
let serviceArn: string;
let clusterArn: string;

beforeAll(async () => {
  t = await createTestOps();
  clusterArn = (await t.request("POST", "/v1/clusters", { clusterName: C })).body.cluster.clusterArn;
  await addInstance(t, C);
  tdArn = (await t.request("POST", "/v1/task-definitions", { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 32 }] })).body.taskDefinition.taskDefinitionArn;
  const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: tdArn });
  expect(run.status).toBe(201);
  taskArn = run.body.tasks[0].taskArn;
  instanceArn = run.body.tasks[0].containerInstanceArn;
  serviceArn = (await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "svc", taskDefinition: "web:1", desiredCount: 0 })).body.service.serviceArn;
});
afterAll(() => t?.close());

const refused = (field: string, message: string) => ({ status: 400, body: { error: { code: "InvalidParameterException", message: `${field}: ${message}`, fields: [{ path: field, message }] } } });
const enc = encodeURIComponent;

describe("an ARN of the kind meant is accepted", () => {
  test("task, container instance, service and cluster ARNs resolve", async () => {
    expect((await t.request("GET", `/v1/clusters/${enc(clusterArn)}`)).status).toBe(200);
    expect((await t.request("GET", `/v1/clusters/${C}/tasks/${enc(taskArn)}`)).body.task.taskArn).toBe(taskArn);
    expect((await t.request("GET", `/v1/clusters/${C}/container-instances/${enc(instanceArn)}`)).status).toBe(200);
    expect((await t.request("GET", `/v1/clusters/${C}/services/${enc(serviceArn)}`)).body.service.serviceArn).toBe(serviceArn);
    const listed = await t.request("GET", `/v1/clusters/${C}/tasks?containerInstance=${enc(instanceArn)}`);
    expect(listed.body.tasks.map((x: any) => x.taskArn)).toEqual([taskArn]);
  });
});

describe("an ARN of another kind is a 400 naming the field", () => {
  test("a service ARN as RunTask's taskDefinition", async () => {
    expect(await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: serviceArn })).toEqual(
      refused("taskDefinition", "expected a task definition ARN, family or family:revision, got a service ARN"),
    );
  });

  test("a cluster ARN as CreateService's taskDefinition, a task ARN as UpdateService's", async () => {
    expect(await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "x", taskDefinition: clusterArn, desiredCount: 1 })).toEqual(
      refused("taskDefinition", "expected a task definition ARN, family or family:revision, got a cluster ARN"),
    );
    expect(await t.request("PATCH", `/v1/clusters/${C}/services/svc`, { taskDefinition: taskArn })).toEqual(
      refused("taskDefinition", "expected a task definition ARN, family or family:revision, got a task ARN"),
    );
  });

  test("in paths and queries: cluster, task, service, container instance", async () => {
    expect(await t.request("GET", `/v1/clusters/${enc(tdArn)}`)).toEqual(refused("cluster", "expected a name or a cluster ARN, got a task definition ARN"));
    expect(await t.request("GET", `/v1/clusters/${C}/tasks/${enc(serviceArn)}`)).toEqual(refused("task", "expected an id or a task ARN, got a service ARN"));
    expect(await t.request("POST", `/v1/clusters/${C}/tasks/${enc(instanceArn)}/stop`, {})).toEqual(
      refused("task", "expected an id or a task ARN, got a container instance ARN"),
    );
    expect(await t.request("GET", `/v1/clusters/${C}/services/${enc(taskArn)}`)).toEqual(refused("service", "expected a name or a service ARN, got a task ARN"));
    expect(await t.request("GET", `/v1/clusters/${C}/container-instances/${enc(taskArn)}`)).toEqual(
      refused("containerInstance", "expected an id or a container instance ARN, got a task ARN"),
    );
    expect(await t.request("GET", `/v1/clusters/${C}/tasks?containerInstance=${enc(serviceArn)}`)).toEqual(
      refused("containerInstance", "expected an id or a container instance ARN, got a service ARN"),
    );
    expect(await t.request("GET", `/v1/task-definitions/${enc(serviceArn)}`)).toEqual(
      refused("taskDefinition", "expected a task definition ARN, family or family:revision, got a service ARN"),
    );
  });

  test("an attribute's targetId", async () => {
    expect(await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "zone", value: "a", targetId: instanceArn }, { name: "zone", value: "b", targetId: taskArn }] })).toEqual(
      refused("attributes[1].targetId", "expected an id or a container instance ARN, got a task ARN"),
    );
    // Nothing was written: one bad target fails the whole call.
    const attrs = (await t.request("GET", `/v1/clusters/${C}/attributes`)).body.attributes as any[];
    expect(attrs.filter((a) => a.name === "zone")).toEqual([]);
  });
});
