import { afterEach, describe, expect, test } from "bun:test";
import { addServiceEvent } from "../../../control/services/events.ts";
import type { DesiredTask, HostFacts } from "../../../shared/messages.ts";
import { APP_V1, CHECKED_V1, fakeFleet } from "./fake-fleet.ts";

const FACTS: HostFacts = {
  hostname: "host",
  resources: { cpu: 4096, memory: 8192 },
  attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" },
  versionInfo: { agentVersion: "test", dockerVersion: "test" },
};

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

  test("endpoints: each bound port of a RUNNING task at the address its agent reports", async () => {
    const t = await setup();
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    await fleet.round();
    const [inst] = fleet.instances;
    const agent = fleet.agents.of(inst!);
    let bindIP = "0.0.0.0";
    const bindings = (d: DesiredTask) => [{ bindIP, containerPort: 80, hostPort: 32768 + Number.parseInt(d.taskId.slice(0, 4), 16) % 1000, protocol: "tcp" as const }];
    const endpoints = async () => {
      const res = await t.request("GET", `/v1/clusters/${C}/services/web/endpoints`);
      expect(res.status).toBe(200);
      return res.body.endpoints as any[];
    };
    // An agent that reports no addresses (older ones): the hostname is all there is.
    await fleet.settle(undefined, { bindings });
    const rows = await fleet.running("web");
    const ci = (await t.request("GET", `/v1/clusters/${C}/container-instances/${inst}`)).body.containerInstance;
    expect((await endpoints()).map((e) => e.address)).toEqual([ci.ec2InstanceId, ci.ec2InstanceId]);

    // The agent reports its addresses in its facts (--advertise-address first): the first one is given.
    agent.factsChanged({ ...FACTS, hostname: ci.ec2InstanceId, addresses: ["192.0.2.10", "fd00::10"] });
    await fleet.settle(undefined, { bindings });
    const list = await endpoints();
    expect(list).toHaveLength(2);
    for (const row of rows) {
      expect(list).toContainEqual({
        taskArn: row.arn,
        containerInstanceArn: ci.containerInstanceArn,
        address: "192.0.2.10",
        containerName: "app",
        containerPort: 80,
        hostPort: bindings({ taskId: row.id } as DesiredTask)[0]!.hostPort,
        protocol: "tcp",
      });
    }
    // A port bound to one specific address is reached there.
    bindIP = "198.51.100.4";
    await fleet.settle(undefined, { bindings });
    expect((await endpoints()).map((e) => e.address)).toEqual(["198.51.100.4", "198.51.100.4"]);
    // The flotilla.address attribute (the older way to choose it) still wins.
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.address", value: "10.1.2.3", targetId: inst }] });
    expect(put.status).toBe(200);
    expect((await endpoints()).map((e) => e.address)).toEqual(["10.1.2.3", "10.1.2.3"]);
  });

  test("endpoints of a service with health checks list only tasks reported HEALTHY", async () => {
    const t = await setup();
    expect((await t.request("POST", "/v1/task-definitions", CHECKED_V1)).status).toBe(201);
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "checked", desiredCount: 2, healthCheckGracePeriodSeconds: 600 });
    await fleet.round();
    const bindings = () => [{ bindIP: "0.0.0.0", containerPort: 80, hostPort: 32768, protocol: "tcp" as const }];
    const endpointTasks = async () => ((await t.request("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as any[]).map((e) => e.taskArn).sort();
    await fleet.settle(undefined, { bindings, health: () => "UNKNOWN" });
    const rows = await fleet.running("web");
    expect(rows).toHaveLength(2);
    expect(await endpointTasks()).toEqual([]);
    await fleet.settle(undefined, { bindings, health: () => "HEALTHY" });
    expect(await endpointTasks()).toEqual(rows.map((r) => r.arn).sort());
    const [sick, well] = rows;
    await fleet.settle(undefined, { bindings, health: (d) => (d.taskId === sick!.id ? "UNHEALTHY" : "HEALTHY") });
    expect(await endpointTasks()).toEqual([well!.arn]);
  });
});
