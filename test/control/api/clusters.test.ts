import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => (t = await createTestOps()));
afterEach(() => t.close());

describe("clusters API", () => {
  test("create, get, list and delete a cluster with ECS shapes", async () => {
    const created = await t.request("POST", "/v1/clusters", { clusterName: "edge" });
    expect(created.status).toBe(201);
    const clusterArn: string = created.body.cluster.clusterArn;
    expect(clusterArn).toEndWith(":cluster/edge");
    expect(created.body.cluster).toMatchObject({ clusterName: "edge", status: "ACTIVE" });

    const again = await t.request("POST", "/v1/clusters", { clusterName: "edge" });
    expect(again.status).toBe(200);

    expect((await t.request("GET", "/v1/clusters/edge")).body.cluster.clusterName).toBe("edge");
    const byArn = await t.request("GET", `/v1/clusters/${encodeURIComponent(clusterArn)}`);
    expect(byArn.body).toEqual({ cluster: expect.objectContaining({ clusterName: "edge" }) });
    expect((await t.request("GET", "/v1/clusters")).body.clusters.map((c: any) => c.clusterName)).toEqual(["edge"]);

    const del = await t.request("DELETE", "/v1/clusters/edge");
    expect(del.status).toBe(200);
    expect(del.body.cluster.status).toBe("INACTIVE");
    expect((await t.request("GET", "/v1/clusters/edge")).status).toBe(404);
  });

  test("delete is refused with 409 while the cluster has instances", async () => {
    await t.request("POST", "/v1/clusters", { clusterName: "busy" });
    await addInstance(t, "busy");
    const del = await t.request("DELETE", "/v1/clusters/busy");
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe("ClusterContainsContainerInstancesException");
    expect((await t.request("GET", "/v1/clusters/busy")).body.cluster.status).toBe("ACTIVE");
  });

  test("bad input is a 400 naming the field, and nothing is written", async () => {
    const bad = await t.request("POST", "/v1/clusters", { clusterName: "no spaces allowed" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("clusterName");
    const unknown = await t.request("POST", "/v1/clusters", { clusterName: "ok", colour: "red" });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error)).toContain("colour");
    const notJson = await t.request("POST", "/v1/clusters", "{nope");
    expect(notJson.status).toBe(400);
    expect((await t.request("GET", "/v1/clusters")).body.clusters).toEqual([]);
  });

  test("unknown cluster is 404 with ClusterNotFoundException", async () => {
    const res = await t.request("GET", "/v1/clusters/nope");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("ClusterNotFoundException");
  });

  test("activations are created with a limit and expiry, the code shown once", async () => {
    await t.request("POST", "/v1/clusters", { clusterName: "edge" });
    const res = await t.request("POST", "/v1/clusters/edge/activations", { registrationLimit: 3, expiresInSeconds: 600 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ registrationLimit: 3, activationId: expect.any(String), activationCode: expect.any(String) });
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now() + 500_000);
    const bad = await t.request("POST", "/v1/clusters/edge/activations", { registrationLimit: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("registrationLimit");
  });
});

describe("authentication", () => {
  test("every /v1 call needs a valid bearer token; /healthz does not", async () => {
    expect((await t.request("GET", "/healthz", undefined, null)).status).toBe(200);
    const none = await t.request("GET", "/v1/clusters", undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("UnauthorizedException");
    expect((await t.request("GET", "/v1/clusters", undefined, "wrong")).status).toBe(401);
    expect((await t.request("POST", "/v1/clusters", { clusterName: "x" }, "wrong")).status).toBe(401);
    expect((await t.request("GET", "/v1/clusters")).body.clusters).toEqual([]);
  });
});
