import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";
import { ManualClock } from "../services/fake-fleet.ts";

/** /v1/clusters/{c}/deployment-windows: validation (400 naming the field), listing, deletion, overrides. */
const C = "win";
const BASE = `/v1/clusters/${C}/deployment-windows`;
let t: TestOps;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock(Date.parse("2026-01-15T12:00:00Z"));
  t = await createTestOps(clock);
  await t.request("POST", "/v1/clusters", { clusterName: C });
});
afterEach(() => t.close());

const ok = { name: "shop-nights", schedule: "0 2 * * *", durationMinutes: 120, timeZone: "Europe/Berlin", filter: "attribute:site == shop-12" };

async function refused(body: unknown, path = BASE) {
  const res = await t.request("POST", path, body);
  expect(res.status).toBe(400);
  return (res.body.error.fields ?? []).map((f: { path: string }) => f.path);
}

describe("deployment windows API", () => {
  test("create shows when the window opens next; list and delete (by name or id)", async () => {
    const res = await t.request("POST", BASE, ok);
    expect(res.status).toBe(201);
    const id: string = res.body.deploymentWindow.windowId;
    expect(res.body.deploymentWindow).toMatchObject({ ...ok, open: false, opensAt: "2026-01-16T01:00:00.000Z", windowId: expect.any(String) });
    const whole = await t.request("POST", BASE, { name: "noon", schedule: "0 12 * * *", durationMinutes: 30 });
    expect(whole.body.deploymentWindow).toMatchObject({ timeZone: "UTC", filter: null, open: true, closesAt: "2026-01-15T12:30:00.000Z" });
    expect((await t.request("GET", BASE)).body.deploymentWindows.map((w: any) => w.name)).toEqual(["noon", "shop-nights"]);
    expect((await t.request("DELETE", `${BASE}/noon`)).status).toBe(200);
    const byId = await t.request("DELETE", `${BASE}/${id}`);
    expect(byId.body).toMatchObject({ deploymentWindow: { name: "shop-nights" } });
    expect((await t.request("GET", BASE)).body.deploymentWindows).toEqual([]);
    expect((await t.request("DELETE", `${BASE}/noon`)).status).toBe(404);
  });

  test("bad input is a 400 naming the field", async () => {
    expect(await refused({ ...ok, schedule: "61 2 * * *" })).toEqual(["schedule"]);
    expect(await refused({ ...ok, schedule: "every night" })).toEqual(["schedule"]);
    expect(await refused({ ...ok, timeZone: "Europe/Atlantis" })).toEqual(["timeZone"]);
    expect(await refused({ ...ok, durationMinutes: 0 })).toEqual(["durationMinutes"]);
    expect(await refused({ ...ok, durationMinutes: 1.5 })).toEqual(["durationMinutes"]);
    expect(await refused({ ...ok, durationMinutes: 8 * 24 * 60 })).toEqual(["durationMinutes"]);
    expect(await refused({ ...ok, filter: "attribute:site ==" })).toEqual(["filter"]);
    expect(await refused({ ...ok, filter: "runningTasksCount > 1" })).toEqual(["filter"]);
    expect(await refused({ ...ok, name: "has space" })).toEqual(["name"]);
    expect(await refused({ ...ok, duration: 5 })).toContain("duration");
    const { schedule: _, ...noSchedule } = ok;
    expect(await refused(noSchedule)).toEqual(["schedule"]);
    expect((await t.request("POST", BASE, ok)).status).toBe(201);
    expect(await refused(ok)).toEqual(["name"]);
    expect((await t.request("POST", "/v1/clusters/nope/deployment-windows", ok)).status).toBe(404);
  });

  test("overrides: until or durationMinutes, in the future, at most 7 days; listed while in force; deletable", async () => {
    expect(await refused({ until: "2026-01-15T11:00:00Z" }, `${BASE}/override`)).toEqual(["until"]);
    expect(await refused({ until: "2026-02-15T11:00:00Z" }, `${BASE}/override`)).toEqual(["until"]);
    expect(await refused({ until: "tomorrow" }, `${BASE}/override`)).toEqual(["until"]);
    expect(await refused({ until: "2026-01-15T13:00:00Z", durationMinutes: 5 }, `${BASE}/override`)).toEqual(["until"]);
    expect(await refused({ filter: "task:group == service:web" }, `${BASE}/override`)).toEqual(["filter"]);
    const all = await t.request("POST", `${BASE}/override`, {});
    expect(all.status).toBe(201);
    expect(all.body.override).toMatchObject({ filter: null, until: "2026-01-15T13:00:00.000Z", createdBy: "admin" });
    const one = await t.request("POST", `${BASE}/override`, { filter: "attribute:site == shop-12", until: "2026-01-15T12:10:00+00:00" });
    expect(one.body.override.until).toBe("2026-01-15T12:10:00.000Z");
    expect((await t.request("GET", `${BASE}/overrides`)).body.overrides.map((o: any) => o.overrideId)).toEqual([one.body.override.overrideId, all.body.override.overrideId]);
    clock.advance(15 * 60_000);
    expect((await t.request("GET", `${BASE}/overrides`)).body.overrides.map((o: any) => o.overrideId)).toEqual([all.body.override.overrideId]);
    expect((await t.request("DELETE", `${BASE}/overrides/${all.body.override.overrideId}`)).status).toBe(200);
    expect((await t.request("GET", `${BASE}/overrides`)).body.overrides).toEqual([]);
    const actions = (await t.request("GET", "/v1/audit?limit=20")).body.entries.map((e: any) => e.action);
    expect(actions).toContain("OverrideDeploymentWindows");
    expect(actions).toContain("DeleteDeploymentWindowOverride");
  });

  test("read-only tokens may list but not create or override", async () => {
    const ro = (await t.request("POST", "/v1/tokens", { name: "viewer", role: "read-only" })).body.token;
    expect((await t.request("GET", BASE, undefined, ro)).status).toBe(200);
    expect((await t.request("POST", BASE, ok, ro)).status).toBe(403);
    expect((await t.request("POST", `${BASE}/override`, {}, ro)).status).toBe(403);
  });

  test("services take windowPolicy.allowScaleOutsideWindow in deploymentConfiguration", async () => {
    await t.request("POST", "/v1/task-definitions", { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 64 }] });
    const bad = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 1, deploymentConfiguration: { windowPolicy: { allowScaleOutsideWindow: "yes" } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("deploymentConfiguration.windowPolicy.allowScaleOutsideWindow");
    const good = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 1, deploymentConfiguration: { windowPolicy: { allowScaleOutsideWindow: true } } });
    expect(good.status).toBe(201);
    expect(good.body.service.deploymentConfiguration).toMatchObject({ maximumPercent: 200, windowPolicy: { allowScaleOutsideWindow: true } });
    // Another change to the configuration keeps it.
    const upd = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { deploymentConfiguration: { maximumPercent: 150 } });
    expect(upd.body.service.deploymentConfiguration.windowPolicy).toEqual({ allowScaleOutsideWindow: true });
  });
});
