import { afterEach, describe, expect, test } from "bun:test";
import { ChangeBus } from "../../../control/change-bus.ts";
import { DiscoveryPublisher } from "../../../control/link/discovery-publisher.ts";
import { discoveryServices, nextDiscoverySet } from "../../../control/ops/discovery.ts";
import { discoveryLabel, type DiscoverySet } from "../../../shared/discovery.ts";
import type { DesiredTask } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { CHECK, fakeFleet } from "../services/fake-fleet.ts";

const C = "Disc_Cluster";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

const NAMED = {
  family: "named",
  containerDefinitions: [{ name: "app", image: "nginx", memory: 64, essential: true, portMappings: [{ name: "http", containerPort: 80 }, { containerPort: 9000, protocol: "udp" }] }],
};
const CHECKED = { family: "checked", containerDefinitions: [{ ...NAMED.containerDefinitions[0]!, healthCheck: CHECK }] };
const bindings = (d: DesiredTask) => [
  { bindIP: "0.0.0.0", containerPort: 80, hostPort: 30000 + (Number.parseInt(d.taskId.slice(0, 4), 16) % 1000), protocol: "tcp" as const },
  { bindIP: "0.0.0.0", containerPort: 9000, hostPort: 9000, protocol: "udp" as const },
];

async function setup(instances = 2) {
  fleet = await fakeFleet(C, instances);
  for (const td of [NAMED, CHECKED]) expect((await fleet.t.request("POST", "/v1/task-definitions", td)).status).toBe(201);
  return fleet.t;
}

describe("discovery labels", () => {
  test("lowercased, underscores as hyphens; names that still are no DNS label have none", () => {
    expect(discoveryLabel("Web_API")).toBe("web-api");
    expect(discoveryLabel("web")).toBe("web");
    expect(discoveryLabel("-web")).toBeUndefined();
    expect(discoveryLabel("web_")).toBeUndefined();
    expect(discoveryLabel("a".repeat(64))).toBeUndefined();
    expect(discoveryLabel("a".repeat(63))).toBe("a".repeat(63));
  });
});

describe("discovery records", () => {
  test("the endpoints' own test: RUNNING tasks on connected instances, HEALTHY where checked, with port names and host ports", async () => {
    const t = await setup();
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "Web_API", taskDefinition: "named", desiredCount: 2 });
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "checked", taskDefinition: "checked", desiredCount: 2, healthCheckGracePeriodSeconds: 600 });
    await fleet.round();
    await fleet.settle(undefined, { bindings, health: () => "UNKNOWN" });
    let svcs = await discoveryServices(t.ctx, C);
    expect(svcs.map((s) => s.name)).toEqual(["checked", "web-api"]);
    expect(svcs[0]!.tasks).toEqual([]);
    const web = svcs[1]!.tasks;
    expect(web).toHaveLength(2);
    const rows = await fleet.running("Web_API");
    for (const row of rows) {
      expect(web).toContainEqual({
        taskId: row.id,
        instanceId: row.instanceId,
        address: expect.any(String),
        ports: [
          { name: "http", containerPort: 80, hostPort: bindings({ taskId: row.id } as DesiredTask)[0]!.hostPort, protocol: "tcp" },
          { containerPort: 9000, hostPort: 9000, protocol: "udp" },
        ],
      });
    }
    // The endpoints API lists the same tasks (one implementation of the test).
    const endpoints = (await t.request("GET", `/v1/clusters/${C}/services/Web_API/endpoints`)).body.endpoints as any[];
    expect(new Set(endpoints.map((e) => e.taskArn.split("/").pop()))).toEqual(new Set(web.map((w) => w.taskId)));

    await fleet.settle(undefined, { bindings, health: () => "HEALTHY" });
    svcs = await discoveryServices(t.ctx, C);
    expect(svcs[0]!.tasks).toHaveLength(2);
    // A disconnected instance's tasks leave the answers (as they leave /endpoints).
    await fleet.disconnect(fleet.instances[0]!);
    svcs = await discoveryServices(t.ctx, C);
    expect(svcs[1]!.tasks.every((x) => x.instanceId !== fleet.instances[0])).toBe(true);
  });

  test("each task carries its host's site (ecs.availability-zone) when the host has one", async () => {
    const t = await setup();
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "ecs.availability-zone", value: "dc1", targetId: fleet.instances[0] }] });
    expect(put.status).toBe(200);
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "named", desiredCount: 2, placementConstraints: [{ type: "distinctInstance" }] });
    await fleet.round();
    await fleet.settle(undefined, { bindings });
    const tasks = (await discoveryServices(t.ctx, C))[0]!.tasks;
    expect(tasks.map((x) => [x.instanceId, x.site]).sort()).toEqual(
      [[fleet.instances[0], "dc1"], [fleet.instances[1], undefined]].sort() as [string, string | undefined][],
    );
  });

  test("two names with one label go to the older service; a name that is no label is not served; GET /discovery shows the names", async () => {
    const t = await setup(1);
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "my_web", taskDefinition: "named", desiredCount: 0 });
    fleet.clock.advance(1000);
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "My-Web", taskDefinition: "named", desiredCount: 0 });
    await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "_hidden", taskDefinition: "named", desiredCount: 0 });
    expect((await discoveryServices(t.ctx, C)).map((s) => s.name)).toEqual(["my-web"]);
    const view = await t.request("GET", `/v1/clusters/${C}/discovery`);
    expect(view.status).toBe(200);
    expect(view.body).toEqual({ zone: "disc-cluster.flotilla", services: [{ name: "my-web", dnsName: "my-web.disc-cluster.flotilla", tasks: [] }] });
    expect((await t.request("GET", "/v1/clusters/nope/discovery")).status).toBe(404);
  });

  test("each set has a higher generation, kept in the database", async () => {
    const t = await setup(1);
    const a = await nextDiscoverySet(t.ctx, C);
    const b = await nextDiscoverySet(t.ctx, C);
    expect(a).toMatchObject({ clusterName: C, clusterLabel: "disc-cluster", services: [] });
    expect(b!.generation).toBe(a!.generation + 1);
    expect(await nextDiscoverySet(t.ctx, "nope")).toBeNull();
  });
});

describe("discovery publisher", () => {
  test("publishes the cluster's set once per change, and not for a change that alters no record", async () => {
    const t = await setup(2);
    const sent: DiscoverySet[] = [];
    const bus = new ChangeBus();
    const pub = new DiscoveryPublisher(t.ctx, bus, { publish: async (set) => void sent.push(set), refreshMs: 0, delayMs: 1 });
    pub.start();
    try {
      // At start: the cluster's set (one message; the broker gives it to every host).
      await pub.idle();
      expect(sent.map((s) => s.clusterName)).toEqual([C]);
      const first = sent[0]!.generation;

      await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "named", desiredCount: 2 });
      await fleet.round();
      await fleet.settle(undefined, { bindings });
      bus.emit({ kind: "services" });
      await waitFor("a set with the running tasks", () => sent.some((s) => s.services[0]?.tasks.length === 2));
      expect(sent.at(-1)!.generation).toBeGreaterThan(first);

      // Nothing discoverable changed: no new set.
      const count = sent.length;
      bus.emit({ kind: "services" });
      bus.emit({ kind: "tasks" });
      await pub.idle();
      expect(sent.length).toBe(count);

      // A task stopping is a new set without it.
      const [gone] = await fleet.running("web");
      await t.request("POST", `/v1/clusters/${C}/tasks/${gone!.id}/stop`, {});
      bus.emit({ kind: "tasks" });
      await pub.idle();
      expect(sent.at(-1)!.services[0]!.tasks.map((x) => x.taskId)).not.toContain(gone!.id);
      expect(sent.at(-1)!.services[0]!.tasks).toHaveLength(1);
    } finally {
      await pub.stop();
    }
  });

  test("a changed set held back by the cluster's fan-out budget (set size × hosts) still goes out", async () => {
    const t = await setup(2);
    const sent: DiscoverySet[] = [];
    const bus = new ChangeBus();
    // A set of this cluster is a few hundred bytes × 2 hosts: at 500 B/s the next waits about a second.
    const pub = new DiscoveryPublisher(t.ctx, bus, { publish: async (set) => void sent.push(set), refreshMs: 0, delayMs: 1, minIntervalMs: 1, fanoutBytesPerSecond: 500 });
    pub.start();
    try {
      await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "named", desiredCount: 2 });
      await fleet.round();
      await fleet.settle(undefined, { bindings });
      await pub.idle();
      const before = sent.length;
      // One task stops: the new set is held back by the budget, not dropped.
      const [gone] = await fleet.running("web");
      await t.request("POST", `/v1/clusters/${C}/tasks/${gone!.id}/stop`, {});
      bus.emit({ kind: "tasks" });
      await waitFor("the held-back set", () => sent.length > before && !sent.at(-1)!.services[0]!.tasks.some((x) => x.taskId === gone!.id), { timeoutMs: 10_000, intervalMs: 5 });
      expect(sent.length).toBe(before + 1);
    } finally {
      await pub.stop();
    }
  });

  test("the refresh republishes unchanged records under a new generation", async () => {
    const t = await setup(1);
    const sent: DiscoverySet[] = [];
    const pub = new DiscoveryPublisher(t.ctx, new ChangeBus(), { publish: async (set) => void sent.push(set), refreshMs: 20, delayMs: 1 });
    pub.start();
    try {
      await waitFor("three sets", () => sent.length >= 3);
      expect(sent[2]!.generation).toBeGreaterThan(sent[1]!.generation);
    } finally {
      await pub.stop();
    }
  });
});
