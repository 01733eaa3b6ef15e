import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { awsJson, ecsOk } from "../../helpers/aws-json.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => (t = await createTestOps()));
afterEach(() => t.close());

const TD = { family: "sleeper", containerDefinitions: [{ name: "c", image: "busybox", memory: 64 }] };

describe("ECS clusters over AWS JSON", () => {
  test("CreateCluster without a name creates 'default'; creating again returns it", async () => {
    const a = await ecsOk(t.app, "CreateCluster", {});
    expect(a.cluster).toMatchObject({ clusterName: "default", status: "ACTIVE", activeServicesCount: 0, registeredContainerInstancesCount: 0 });
    const b = await ecsOk(t.app, "CreateCluster", { clusterName: "default" });
    expect(b.cluster.clusterArn).toBe(a.cluster.clusterArn);
    const refused = await awsJson(t.app, "CreateCluster", { clusterName: "x", capacityProviders: ["FARGATE"] });
    expect([refused.body.__type, refused.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("capacityProviders")]);
    const settings = await ecsOk(t.app, "DescribeClusters", { include: ["SETTINGS"] });
    expect(settings.clusters[0].settings).toEqual([{ name: "containerInsights", value: "disabled" }]);
  });

  test("DescribeClusters gives ECS's counts, statistics on request, and MISSING failures", async () => {
    await ecsOk(t.app, "CreateCluster", { clusterName: "edge" });
    await addInstance(t, "edge");
    await ecsOk(t.app, "RegisterTaskDefinition", TD);
    await ecsOk(t.app, "RunTask", { cluster: "edge", taskDefinition: "sleeper", count: 2 });
    await t.request("POST", "/v1/clusters/edge/services", { serviceName: "svc", taskDefinition: "sleeper", desiredCount: 0 });
    const r = await ecsOk(t.app, "DescribeClusters", { clusters: ["edge", "ghost", "arn:aws:ecs:eu-west-1:123456789012:cluster/gone"], include: ["STATISTICS"] });
    expect(r.clusters).toHaveLength(1);
    expect(r.clusters[0]).toMatchObject({
      clusterName: "edge",
      registeredContainerInstancesCount: 1,
      runningTasksCount: 0,
      pendingTasksCount: 2,
      activeServicesCount: 1,
    });
    expect(r.clusters[0].statistics).toContainEqual({ name: "pendingExternalTasksCount", value: "2" });
    expect(r.failures).toEqual([
      { arn: expect.stringMatching(/:cluster\/ghost$/), reason: "MISSING" },
      { arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/gone", reason: "MISSING" },
    ]);
    // Without statistics asked for, there are none.
    expect((await ecsOk(t.app, "DescribeClusters", { clusters: ["edge"] })).clusters[0].statistics).toBeUndefined();
  });

  test("ListClusters pages through ARNs with nextToken", async () => {
    for (const n of ["a", "b", "c", "d", "e"]) await ecsOk(t.app, "CreateCluster", { clusterName: n });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await ecsOk(t.app, "ListClusters", { maxResults: 2, ...(token ? { nextToken: token } : {}) });
      seen.push(...r.clusterArns);
      token = r.nextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.map((a) => a.split("/").pop())).toEqual(["a", "b", "c", "d", "e"]);
    const bad = await awsJson(t.app, "ListClusters", { nextToken: "garbage!" });
    expect([bad.body.__type, bad.body.message]).toEqual(["InvalidParameterException", expect.stringContaining("nextToken")]);
    expect((await awsJson(t.app, "ListClusters", { maxResults: 101 })).body.message).toContain("maxResults");
  });

  test("DeleteCluster refuses with ClusterContainsServicesException while a service is ACTIVE or DRAINING", async () => {
    await ecsOk(t.app, "CreateCluster", { clusterName: "svcs" });
    await ecsOk(t.app, "RegisterTaskDefinition", TD);
    await t.request("POST", "/v1/clusters/svcs/services", { serviceName: "svc", taskDefinition: "sleeper", desiredCount: 0 });
    const refused = async () => (await awsJson(t.app, "DeleteCluster", { cluster: "svcs" })).body;
    expect(await refused()).toEqual({ __type: "ClusterContainsServicesException", message: expect.stringContaining("services") });
    // Deleted, the service is DRAINING until the scheduler has stopped its tasks: it still holds the cluster.
    expect((await t.request("DELETE", "/v1/clusters/svcs/services/svc")).status).toBe(200);
    expect((await t.request("GET", "/v1/clusters/svcs/services/svc")).body.service.status).toBe("DRAINING");
    expect((await refused()).__type).toBe("ClusterContainsServicesException");
  });

  test("DeleteCluster refuses with ClusterContainsTasksException, then ClusterContainsContainerInstancesException, then deletes", async () => {
    await ecsOk(t.app, "CreateCluster", { clusterName: "busy" });
    const inst = await addInstance(t, "busy");
    await ecsOk(t.app, "RegisterTaskDefinition", TD);
    await ecsOk(t.app, "RunTask", { cluster: "busy", taskDefinition: "sleeper" });
    const refused = async () => (await awsJson(t.app, "DeleteCluster", { cluster: "busy" })).body.__type;
    expect(await refused()).toBe("ClusterContainsTasksException");
    expect((await t.request("DELETE", `/v1/clusters/busy/container-instances/${inst}`)).status).toBe(200);
    const del = await ecsOk(t.app, "DeleteCluster", { cluster: "busy" });
    expect(del.cluster).toMatchObject({ clusterName: "busy", status: "INACTIVE" });
    expect((await awsJson(t.app, "DeleteCluster", { cluster: "busy" })).body.__type).toBe("ClusterNotFoundException");
  });

  test("DeleteCluster with an instance and nothing else: ClusterContainsContainerInstancesException", async () => {
    await ecsOk(t.app, "CreateCluster", { clusterName: "hosts" });
    await addInstance(t, "hosts");
    expect((await awsJson(t.app, "DeleteCluster", { cluster: "hosts" })).body.__type).toBe("ClusterContainsContainerInstancesException");
    expect((await awsJson(t.app, "DeleteCluster", {})).body.message).toContain("cluster");
  });
});
