import { afterEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { imagePrefetches, tasks } from "../../../control/db/schema.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { ReportedPrefetchImage } from "../../../shared/messages.ts";
import { APP_V1, fakeFleet } from "./fake-fleet.ts";

/**
 * deploymentConfiguration.prefetch in the reconcile loop, round by round, with in-process agents
 * (fake-agents.ts) and prefetch progress reported through applyReports as the MQTT link does: a
 * new deployment first pulls its images on every host and replaces tasks only once each host
 * reported DONE or FAILED.
 */
const C = "svc-prefetch";
const V2 = { family: "app", containerDefinitions: [{ name: "app", image: "registry.example/app:2", memory: 64, essential: true }] };
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());
let seq = 0;

async function rounds(n: number) {
  for (let i = 0; i < n; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(1000);
  }
}
const revisions = async () =>
  (await fleet.t.ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, C), eq(tasks.serviceName, "web"), eq(tasks.desiredStatus, "RUNNING"))).all()).map((t) => t.revision).sort();

async function reportPrefetch(instanceId: string, prefetchId: string, images: ReportedPrefetchImage[]) {
  await applyReports(fleet.t.ctx, [{ instanceId, report: { instanceId, bootId: "prefetch-agent", seq: ++seq, generation: 0, sentAt: Date.now(), tasks: [], prefetches: [{ prefetchId, images }] } }]);
}

describe("deploymentConfiguration.prefetch", () => {
  test("a new deployment pulls its images on every host first; tasks are replaced only once every host ended", async () => {
    fleet = await fakeFleet(C, 2);
    const [a, b] = fleet.instances as [string, string];
    expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
    expect((await fleet.t.request("POST", "/v1/task-definitions", V2)).status).toBe(201);
    const created = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 2, deploymentConfiguration: { prefetch: true } });
    expect(created.status).toBe(201);
    expect(created.body.service.deploymentConfiguration.prefetch).toBe(true);
    await rounds(3);
    // Nothing to replace: the first deployment starts at once, without a prefetch.
    expect(await revisions()).toEqual([1, 1]);
    expect(await fleet.t.ctx.db.select().from(imagePrefetches).all()).toEqual([]);

    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" })).status).toBe(200);
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    const primary = svc.deployments.find((d: any) => d.status === "PRIMARY");
    expect(primary.rolloutState).toBe("IN_PROGRESS");
    const prefetchId = primary.imagePrefetchId as string;
    expect(prefetchId).toBeTruthy();
    expect(svc.events.some((e: any) => e.message.includes(`is prefetching 1 images on 2 container instances (image prefetch ${prefetchId})`))).toBe(true);
    const p = (await fleet.t.request("GET", `/v1/clusters/${C}/image-prefetch/${prefetchId}`)).body.imagePrefetch;
    expect(p.images).toEqual(["registry.example/app:2"]);
    expect(p.instances.map((i: any) => i.containerInstanceId).sort()).toEqual([a, b].sort());
    for (const id of [a, b]) expect((await nextDesiredState(fleet.t.ctx, id, false))!.prefetch).toEqual([{ prefetchId, images: ["registry.example/app:2"] }]);

    // One host done, the other still pulling: still no replacement.
    await reportPrefetch(a, prefetchId, [{ image: "registry.example/app:2", status: "DONE" }]);
    await reportPrefetch(b, prefetchId, [{ image: "registry.example/app:2", status: "PULLING" }]);
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    expect((await fleet.t.ctx.db.select().from(imagePrefetches).all())).toHaveLength(1);

    // A failed host ends its wait too (its task start then fails as any pull failure would).
    await reportPrefetch(b, prefetchId, [{ image: "registry.example/app:2", status: "FAILED", reason: "CannotPullContainerError: pull image: manifest unknown" }]);
    await rounds(6);
    expect(await revisions()).toEqual([2, 2]);
    const after = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    expect(after.deployments.find((d: any) => d.status === "PRIMARY").imagePrefetchId).toBe(prefetchId);
  });

  test("the prefetch aims only at hosts the service may place on (its placementConstraints)", async () => {
    fleet = await fakeFleet(C, 3);
    const [a, b] = fleet.instances as [string, string, string];
    const put = await fleet.t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [a, b].map((targetId) => ({ name: "site", value: "edge", targetId })) });
    expect(put.status).toBe(200);
    expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
    expect((await fleet.t.request("POST", "/v1/task-definitions", V2)).status).toBe(201);
    const created = await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "app:1",
      desiredCount: 2,
      placementConstraints: [{ type: "memberOf", expression: "attribute:site == edge" }],
      deploymentConfiguration: { prefetch: true },
    });
    expect(created.status).toBe(201);
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" })).status).toBe(200);
    await rounds(2);
    const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    const prefetchId = svc.deployments.find((d: any) => d.status === "PRIMARY").imagePrefetchId as string;
    expect(prefetchId).toBeTruthy();
    const p = (await fleet.t.request("GET", `/v1/clusters/${C}/image-prefetch/${prefetchId}`)).body.imagePrefetch;
    expect(p.instances.map((i: any) => i.containerInstanceId).sort()).toEqual([a, b].sort());
    expect(svc.events.some((e: any) => e.message.includes(`is prefetching 1 images on 2 container instances`))).toBe(true);
  });

  test("a DAEMON service keeps each host's old copy until every host ended the prefetch", async () => {
    fleet = await fakeFleet(C, 2);
    const [a, b] = fleet.instances as [string, string];
    expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
    expect((await fleet.t.request("POST", "/v1/task-definitions", V2)).status).toBe(201);
    const created = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", schedulingStrategy: "DAEMON", deploymentConfiguration: { prefetch: true } });
    expect(created.status).toBe(201);
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    const prefetchId = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service.deployments.find((d: any) => d.status === "PRIMARY").imagePrefetchId;
    expect(prefetchId).toBeTruthy();
    await reportPrefetch(a, prefetchId, [{ image: "registry.example/app:2", status: "DONE" }]);
    await rounds(3);
    expect(await revisions()).toEqual([1, 1]);
    await reportPrefetch(b, prefetchId, [{ image: "registry.example/app:2", status: "DONE" }]);
    await rounds(6);
    expect(await revisions()).toEqual([2, 2]);
  });

  test("without prefetch a deployment replaces tasks at once", async () => {
    fleet = await fakeFleet(C, 2);
    expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
    expect((await fleet.t.request("POST", "/v1/task-definitions", V2)).status).toBe(201);
    await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 2 });
    await rounds(3);
    await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
    await rounds(6);
    expect(await revisions()).toEqual([2, 2]);
    expect(await fleet.t.ctx.db.select().from(imagePrefetches).all()).toEqual([]);
  });

  test("prefetch must be a boolean: a 400 naming the field", async () => {
    fleet = await fakeFleet(C, 1);
    expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
    const res = await fleet.t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 1, deploymentConfiguration: { prefetch: "yes" } });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("deploymentConfiguration.prefetch");
  });
});
