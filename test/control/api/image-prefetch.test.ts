import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { ReportedPrefetch } from "../../../shared/messages.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * POST/GET /v1/clusters/{c}/image-prefetch over app.request(): validation (a 400 naming the
 * field), the prefetch list in each target's desired set, and progress arriving through the report
 * path (applyReports, as the MQTT link applies an agent's report).
 */
const C = "prefetch";
let t: TestOps;
let siteA: string[];
let siteB: string;
let seq = 0;

async function report(instanceId: string, prefetches: ReportedPrefetch[], bootId = "boot-1") {
  await applyReports(t.ctx, [{ instanceId, report: { instanceId, bootId, seq: ++seq, generation: 0, sentAt: Date.now(), tasks: [], prefetches } }]);
}
const get = async (id: string) => (await t.request("GET", `/v1/clusters/${C}/image-prefetch/${id}`)).body.imagePrefetch;
const host = (p: any, id: string) => p.instances.find((i: any) => i.containerInstanceId === id);

beforeAll(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: C });
  siteA = [await addInstance(t, C, undefined, { site: "a" }), await addInstance(t, C, undefined, { site: "a" })];
  siteB = await addInstance(t, C, undefined, { site: "b" });
  await t.request("POST", "/v1/task-definitions", {
    family: "web",
    containerDefinitions: [
      { name: "app", image: "registry.example:5000/team/app:2", memory: 64 },
      { name: "sidecar", image: "busybox:1.36", memory: 16 },
    ],
  });
});
afterAll(() => t.close());

describe("POST /v1/clusters/{c}/image-prefetch: bad input", () => {
  test("each is a 400 naming the field, and nothing is sent to any host", async () => {
    const before = t.desiredChanges.length;
    const cases: [unknown, string][] = [
      [{ taskDefinition: "nope", filter: "attribute:site == a" }, "taskDefinition"],
      [{ taskDefinition: "web:9", filter: "attribute:site == a" }, "taskDefinition"],
      [{ images: ["busybox", "Not A Reference!"] }, "images[1]"],
      [{ images: [] }, "images"],
      [{}, "images"],
      [{ images: ["busybox"], taskDefinition: "web" }, "images"],
      [{ images: ["busybox"], filter: "attribute:site ==" }, "filter"],
      [{ images: ["busybox"], filter: "attribute:site == nowhere" }, "filter"],
      [{ images: ["busybox"], instances: [siteB, "no-such-instance"] }, "instances[1]"],
      [{ images: ["busybox"], instances: [siteB], filter: "attribute:site == a" }, "instances"],
      [{ images: ["busybox"], hosts: [siteB] }, "hosts"],
    ];
    for (const [body, path] of cases) {
      const res = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect({ body, path: res.body.error.fields[0].path }).toEqual({ body, path });
    }
    expect(t.desiredChanges.length).toBe(before);
  });

  test("an unknown prefetch id is a 404", async () => {
    expect((await t.request("GET", `/v1/clusters/${C}/image-prefetch/nope`)).status).toBe(404);
  });
});

describe("the flotilla.max-concurrent-pulls attribute", () => {
  test("goes into the host's desired set as maxConcurrentPulls, tells the host, and must be 1..64", async () => {
    const before = t.desiredChanges.length;
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-concurrent-pulls", value: "1", targetId: siteB }] });
    expect(put.status).toBe(200);
    expect(t.desiredChanges.slice(before)).toEqual([siteB]);
    expect((await nextDesiredState(t.ctx, siteB))!.maxConcurrentPulls).toBe(1);
    expect((await nextDesiredState(t.ctx, siteA[0]!))!.maxConcurrentPulls).toBeUndefined();
    for (const bad of ["0", "65", "two", ""]) {
      const res = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "site", value: "b", targetId: siteB }, { name: "flotilla.max-concurrent-pulls", value: bad, targetId: siteB }] });
      expect(res.status).toBe(400);
      expect(res.body.error.fields[0].path).toBe("attributes[1].value");
    }
    const del = await t.request("DELETE", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-concurrent-pulls", targetId: siteB }] });
    expect(del.status).toBe(200);
    expect((await nextDesiredState(t.ctx, siteB))!.maxConcurrentPulls).toBeUndefined();
  });
});

describe("the flotilla.max-pull-bytes-per-second attribute", () => {
  test("goes into the host's desired set as maxPullBytesPerSecond, tells the host, and must be a whole number of at least 1024", async () => {
    const before = t.desiredChanges.length;
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-pull-bytes-per-second", value: "1000000", targetId: siteB }] });
    expect(put.status).toBe(200);
    expect(t.desiredChanges.slice(before)).toEqual([siteB]);
    expect((await nextDesiredState(t.ctx, siteB))!.maxPullBytesPerSecond).toBe(1_000_000);
    expect((await nextDesiredState(t.ctx, siteA[0]!))!.maxPullBytesPerSecond).toBeUndefined();
    for (const bad of ["1023", "0", "1.5", "8mbit", ""]) {
      const res = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "site", value: "b", targetId: siteB }, { name: "flotilla.max-pull-bytes-per-second", value: bad, targetId: siteB }] });
      expect(res.status).toBe(400);
      expect(res.body.error.fields[0].path).toBe("attributes[1].value");
    }
    const del = await t.request("DELETE", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-pull-bytes-per-second", targetId: siteB }] });
    expect(del.status).toBe(200);
    expect((await nextDesiredState(t.ctx, siteB))!.maxPullBytesPerSecond).toBeUndefined();
  });
});

describe("a prefetch's life", () => {
  test("a task definition's images go into the desired set of every host the filter matches, and only theirs", async () => {
    const res = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { taskDefinition: "web", filter: "attribute:site == a" });
    expect(res.status).toBe(201);
    const p = res.body.imagePrefetch;
    expect(p.taskDefinitionArn).toContain("task-definition/web:1");
    expect(p.images).toEqual(["registry.example:5000/team/app:2", "busybox:1.36"]);
    expect(p.status).toBe("IN_PROGRESS");
    expect(p.instances.map((i: any) => i.containerInstanceId).sort()).toEqual([...siteA].sort());
    expect(p.instances.every((i: any) => i.status === "PENDING")).toBe(true);
    for (const id of siteA) {
      expect(t.desiredChanges).toContain(id);
      expect((await nextDesiredState(t.ctx, id))!.prefetch).toEqual([{ prefetchId: p.id, images: p.images }]);
    }
    expect((await nextDesiredState(t.ctx, siteB))!.prefetch).toBeUndefined();
  });

  test("a task definition's images go only where its tasks could run: its memberOf constraints and CPU architecture narrow the targets", async () => {
    await t.request("POST", "/v1/task-definitions", {
      family: "site-b-only",
      placementConstraints: [{ type: "memberOf", expression: "attribute:site == b" }],
      containerDefinitions: [{ name: "app", image: "busybox:1.36", memory: 16 }],
    });
    const res = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { taskDefinition: "site-b-only" });
    expect(res.status).toBe(201);
    expect(res.body.imagePrefetch.instances.map((i: any) => i.containerInstanceId)).toEqual([siteB]);
    // Named hosts are narrowed the same way: of site a's two and site b's, only site b's.
    const named = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { taskDefinition: "site-b-only", instances: [...siteA, siteB] });
    expect(named.body.imagePrefetch.instances.map((i: any) => i.containerInstanceId)).toEqual([siteB]);
    // Every host here is x86_64: an ARM64 definition can run on none, a 400 naming taskDefinition.
    await t.request("POST", "/v1/task-definitions", {
      family: "arm-only",
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      containerDefinitions: [{ name: "app", image: "busybox:1.36", memory: 16 }],
    });
    const before = t.desiredChanges.length;
    const none = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { taskDefinition: "arm-only" });
    expect(none.status).toBe(400);
    expect(none.body.error.fields[0].path).toBe("taskDefinition");
    expect(t.desiredChanges.length).toBe(before);
  });

  test("reports move each host forward only; a host that ended leaves its desired set; the prefetch ends FAILED when one host failed", async () => {
    const p = (await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { images: ["busybox:1.36", "127.0.0.1:1/missing:1"], instances: siteA })).body.imagePrefetch;
    const [a1, a2] = siteA as [string, string];
    await report(a1, [{ prefetchId: p.id, images: [{ image: "busybox:1.36", status: "PULLING", startedAt: 1000 }, { image: "127.0.0.1:1/missing:1", status: "PENDING" }] }]);
    expect(host(await get(p.id), a1).status).toBe("PULLING");
    await report(a1, [{ prefetchId: p.id, images: [{ image: "busybox:1.36", status: "DONE", startedAt: 1000, finishedAt: 2000 }, { image: "127.0.0.1:1/missing:1", status: "FAILED", reason: "CannotPullContainerError: connection refused" }] }]);
    let view = await get(p.id);
    expect(host(view, a1)).toMatchObject({
      status: "FAILED",
      images: [
        { image: "busybox:1.36", status: "DONE", startedAt: new Date(1000).toISOString(), finishedAt: new Date(2000).toISOString() },
        { image: "127.0.0.1:1/missing:1", status: "FAILED", reason: "CannotPullContainerError: connection refused" },
      ],
    });
    expect(view.status).toBe("IN_PROGRESS");
    // Ended on a1: no longer in its set; still in a2's.
    expect((await nextDesiredState(t.ctx, a1))!.prefetch?.some((x) => x.prefetchId === p.id) ?? false).toBe(false);
    expect((await nextDesiredState(t.ctx, a2))!.prefetch?.some((x) => x.prefetchId === p.id)).toBe(true);
    // A restarted agent reporting PENDING again changes nothing.
    await report(a1, [{ prefetchId: p.id, images: [{ image: "busybox:1.36", status: "PENDING" }, { image: "127.0.0.1:1/missing:1", status: "PENDING" }] }], "boot-2");
    expect(host(await get(p.id), a1).status).toBe("FAILED");
    // Another host may not report for a1, and an image the prefetch does not name is ignored.
    await report(a2, [{ prefetchId: p.id, images: [{ image: "busybox:1.36", status: "DONE" }, { image: "127.0.0.1:1/missing:1", status: "DONE" }, { image: "other:1", status: "FAILED" }] }]);
    view = await get(p.id);
    expect(host(view, a2).status).toBe("DONE");
    expect(host(view, a2).images.map((i: any) => i.image)).toEqual(["busybox:1.36", "127.0.0.1:1/missing:1"]);
    expect(host(view, a1).status).toBe("FAILED");
    expect(view.status).toBe("FAILED");
    expect(view.counts).toEqual({ pending: 0, pulling: 0, done: 1, failed: 1 });
    const list = (await t.request("GET", `/v1/clusters/${C}/image-prefetch`)).body.imagePrefetches;
    expect(list.map((x: any) => x.id)).toContain(p.id);
  });

  test("neither instances nor filter: every instance of the cluster; creating one is audited", async () => {
    const res = await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { images: ["busybox:1.36"] });
    expect(res.status).toBe(201);
    expect(res.body.imagePrefetch.instances.map((i: any) => i.containerInstanceId).sort()).toEqual([...siteA, siteB].sort());
    const actions = (await t.request("GET", "/v1/audit?limit=20")).body.entries.map((e: any) => e.action);
    expect(actions).toContain("CreateImagePrefetch");
    // Leave the hosts' sets as they were for the next test.
    for (const id of [...siteA, siteB]) await report(id, [{ prefetchId: res.body.imagePrefetch.id, images: [{ image: "busybox:1.36", status: "DONE" }] }]);
  });

  test("every host DONE: SUCCESSFUL", async () => {
    const p = (await t.request("POST", `/v1/clusters/${C}/image-prefetch`, { images: ["busybox:1.36"], instances: [siteB] })).body.imagePrefetch;
    await report(siteB, [{ prefetchId: p.id, images: [{ image: "busybox:1.36", status: "DONE" }] }]);
    expect((await get(p.id)).status).toBe("SUCCESSFUL");
  });
});
