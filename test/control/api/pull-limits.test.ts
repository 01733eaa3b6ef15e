import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * PUT/GET /v1/clusters/{c}/pull-limits over app.request(): the 400s naming the field, each host's
 * limits in its desired set (the first rule matching it, over the default), every host told, and
 * an instance's own attribute winning over the cluster's setting.
 */
const C = "pull-limits";
let t: TestOps;
let siteA: string;
let siteB: string;
let other: string;

beforeAll(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: C });
  siteA = await addInstance(t, C, undefined, { site: "a" });
  siteB = await addInstance(t, C, undefined, { site: "b" });
  other = await addInstance(t, C, undefined, {});
});
afterAll(() => t.close());

const limitsOf = async (id: string) => {
  const d = (await nextDesiredState(t.ctx, id))!;
  return { maxConcurrentPulls: d.maxConcurrentPulls, maxPullBytesPerSecond: d.maxPullBytesPerSecond };
};

describe("PUT /v1/clusters/{c}/pull-limits", () => {
  test("bad input is a 400 naming the field, and nothing is stored or sent", async () => {
    const before = t.desiredChanges.length;
    const cases: [unknown, string][] = [
      [{ default: { maxConcurrentPulls: 0 } }, "default.maxConcurrentPulls"],
      [{ default: { maxConcurrentPulls: 65 } }, "default.maxConcurrentPulls"],
      [{ default: { maxPullBytesPerSecond: 1000 } }, "default.maxPullBytesPerSecond"],
      [{ default: { maxPullBytesPerSecond: "8mbit" } }, "default.maxPullBytesPerSecond"],
      [{ rules: [{ filter: "attribute:site == a", maxConcurrentPulls: 1 }, { filter: "attribute:site ==", maxConcurrentPulls: 1 }] }, "rules[1].filter"],
      [{ rules: [{ maxConcurrentPulls: 1 }] }, "rules[0].filter"],
      [{ rules: [{ filter: "attribute:site == a", bandwidth: 5 }] }, "rules[0].bandwidth"],
      [{ defaults: {} }, "defaults"],
    ];
    for (const [body, path] of cases) {
      const res = await t.request("PUT", `/v1/clusters/${C}/pull-limits`, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect({ body, path: res.body.error.fields[0].path }).toEqual({ body, path });
    }
    expect(t.desiredChanges.length).toBe(before);
    expect((await t.request("GET", `/v1/clusters/${C}/pull-limits`)).body.pullLimits).toEqual({ default: {}, rules: [] });
    expect((await t.request("PUT", `/v1/clusters/nope/pull-limits`, {})).status).toBe(404);
  });

  test("each host's desired set carries the first matching rule over the default; every host is told", async () => {
    const before = t.desiredChanges.length;
    const body = {
      default: { maxConcurrentPulls: 2, maxPullBytesPerSecond: 5_000_000 },
      rules: [
        { filter: "attribute:site == a", maxPullBytesPerSecond: 1_000_000 },
        { filter: "attribute:site == a or attribute:site == b", maxConcurrentPulls: 1 },
      ],
    };
    const res = await t.request("PUT", `/v1/clusters/${C}/pull-limits`, body);
    expect(res.status).toBe(200);
    expect(res.body.pullLimits).toEqual(body);
    expect((await t.request("GET", `/v1/clusters/${C}/pull-limits`)).body.pullLimits).toEqual(body);
    expect(t.desiredChanges.slice(before).sort()).toEqual([siteA, siteB, other].sort());
    const audit = await t.request("GET", "/v1/audit?limit=5");
    expect(audit.body.entries.find((e: any) => e.path === `/v1/clusters/${C}/pull-limits` && e.status === 200)).toMatchObject({ action: "PutPullLimits", method: "PUT" });
    // site a: the first rule only (its maxConcurrentPulls comes from the default, not the second rule).
    expect(await limitsOf(siteA)).toEqual({ maxConcurrentPulls: 2, maxPullBytesPerSecond: 1_000_000 });
    expect(await limitsOf(siteB)).toEqual({ maxConcurrentPulls: 1, maxPullBytesPerSecond: 5_000_000 });
    expect(await limitsOf(other)).toEqual({ maxConcurrentPulls: 2, maxPullBytesPerSecond: 5_000_000 });
  });

  test("a host whose attribute moves it into a rule's filter is told at once", async () => {
    const before = t.desiredChanges.length;
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "site", value: "b", targetId: other }] });
    expect(put.status).toBe(200);
    expect(t.desiredChanges.slice(before)).toEqual([other]);
    expect(await limitsOf(other)).toEqual({ maxConcurrentPulls: 1, maxPullBytesPerSecond: 5_000_000 });
  });

  test("an instance's own attribute wins over the cluster's setting; an empty setting lifts it", async () => {
    await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-pull-bytes-per-second", value: "2048", targetId: siteA }] });
    expect(await limitsOf(siteA)).toEqual({ maxConcurrentPulls: 2, maxPullBytesPerSecond: 2048 });
    const put = await t.request("PUT", `/v1/clusters/${C}/pull-limits`, {});
    expect(put.status).toBe(200);
    expect(await limitsOf(siteB)).toEqual({ maxConcurrentPulls: undefined, maxPullBytesPerSecond: undefined });
    expect(await limitsOf(siteA)).toEqual({ maxConcurrentPulls: undefined, maxPullBytesPerSecond: 2048 });
  });
});
