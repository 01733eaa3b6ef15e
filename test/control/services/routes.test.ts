import { afterEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { containerInstances, tasks } from "../../../control/db/schema.ts";
import { addServiceEvent } from "../../../control/services/events.ts";
import { APP_V1, fakeFleet } from "./fake-fleet.ts";

const C = "svc-routes";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup() {
  fleet = await fakeFleet(C, 1);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  return fleet.t;
}

describe("service routes", () => {
  test("bad input is a 400 naming the field, and stores nothing", async () => {
    const t = await setup();
    const cases: [unknown, string][] = [
      [{ serviceName: "web", taskDefinition: "app" }, "desiredCount"],
      [{ serviceName: "bad name!", taskDefinition: "app", desiredCount: 1 }, "serviceName"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: -1 }, "desiredCount"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: 1, deploymentConfiguration: { maximumPercent: 50 } }, "deploymentConfiguration.maximumPercent"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: 1, deploymentConfiguration: { minimumHealthyPercent: 101 } }, "deploymentConfiguration.minimumHealthyPercent"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: 1, placementConstraints: [{ type: "memberOf", expression: "attribute:x ==" }] }, "placementConstraints[0].expression"],
      [{ serviceName: "web", taskDefinition: "app", schedulingStrategy: "DAEMON", desiredCount: 2 }, "desiredCount"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: 1, disconnectGracePeriodSeconds: -2 }, "disconnectGracePeriodSeconds"],
      [{ serviceName: "web", taskDefinition: "app", desiredCount: 1, bogus: true }, ""],
    ];
    for (const [body, field] of cases) {
      const res = await t.request("POST", `/v1/clusters/${C}/services`, body);
      expect(res.status).toBe(400);
      if (field) expect(res.body.error.fields.map((f: any) => f.path)).toContain(field);
    }
    expect((await t.request("GET", `/v1/clusters/${C}/services`)).body.services).toEqual([]);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "nope", desiredCount: 1 })).status).toBe(404);
    expect((await t.request("POST", `/v1/clusters/nope/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 1 })).status).toBe(404);
  });

  test("create, describe, list, update, duplicate and unknown names", async () => {
    const t = await setup();
    const created = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    expect(created.status).toBe(201);
    expect(created.body.service).toMatchObject({
      serviceName: "web",
      serviceArn: expect.stringContaining(":service/svc-routes/web"),
      clusterArn: expect.stringContaining(":cluster/svc-routes"),
      status: "ACTIVE",
      desiredCount: 2,
      runningCount: 0,
      pendingCount: 0,
      schedulingStrategy: "REPLICA",
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: false, rollback: false } },
      disconnectGracePeriodSeconds: 30,
    });
    expect(created.body.service.deployments[0]).toMatchObject({ id: expect.stringMatching(/^ecs-svc\/\d{19}$/), status: "PRIMARY", rolloutState: "IN_PROGRESS", desiredCount: 2, failedTasks: 0 });
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 2 })).status).toBe(400);
    expect((await t.request("GET", `/v1/clusters/${C}/services/nope`)).status).toBe(404);
    const list = await t.request("GET", `/v1/clusters/${C}/services`);
    expect(list.body.serviceArns).toHaveLength(1);
    const scaled = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 3 });
    expect(scaled.body.service.deployments).toHaveLength(1);
    expect(scaled.body.service.deployments[0].desiredCount).toBe(3);
    const forced = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { forceNewDeployment: true });
    expect(forced.body.service.deployments.map((d: any) => d.status)).toEqual(["PRIMARY", "ACTIVE"]);
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: "3" })).status).toBe(400);
  });

  test("events are newest first with repeats suppressed", async () => {
    const t = await setup();
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 0 });
    await addServiceEvent(t.ctx, C, "web", "one");
    fleet.clock.advance(1);
    expect(await addServiceEvent(t.ctx, C, "web", "two")).toBe(true);
    expect(await addServiceEvent(t.ctx, C, "web", "two")).toBe(false);
    fleet.clock.advance(1);
    await addServiceEvent(t.ctx, C, "web", "three");
    const res = await t.request("GET", `/v1/clusters/${C}/services/web/events`);
    expect(res.body.events.map((e: any) => e.message)).toEqual(["three", "two", "one"]);
  });

  test("endpoints list RUNNING tasks' bound ports with the instance address", async () => {
    const t = await setup();
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    await fleet.round();
    await fleet.settle();
    const rows = await t.ctx.db.select().from(tasks).all();
    const bound = rows[0]!;
    await t.ctx.db
      .update(tasks)
      .set({ containers: [{ ...(bound.containers[0] as object), networkBindings: [{ bindIP: "0.0.0.0", containerPort: 80, hostPort: 32768, protocol: "tcp" }] }] })
      .where(eq(tasks.id, bound.id));
    const inst = (await t.ctx.db.select().from(containerInstances).where(eq(containerInstances.id, bound.instanceId)).get())!;
    await t.ctx.db.update(containerInstances).set({ attributes: { ...inst.attributes, "flotilla.address": "10.1.2.3" } }).where(eq(containerInstances.id, inst.id));
    const res = await t.request("GET", `/v1/clusters/${C}/services/web/endpoints`);
    expect(res.status).toBe(200);
    expect(res.body.endpoints).toEqual([
      { taskArn: bound.arn, containerInstanceArn: inst.arn, address: "10.1.2.3", containerName: "app", containerPort: 80, hostPort: 32768, protocol: "tcp" },
    ]);
  });
});
