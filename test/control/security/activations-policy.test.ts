import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { checkActivation } from "../../../control/ops/activations.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
});
afterEach(() => t.close());

describe("activations", () => {
  test("list shows no codes; a revoked activation no longer registers", async () => {
    const created = (await t.request("POST", "/v1/clusters/edge/activations", { registrationLimit: 3 })).body;
    const list = await t.request("GET", "/v1/clusters/edge/activations");
    expect(list.status).toBe(200);
    expect(list.body.activations).toEqual([expect.objectContaining({ activationId: created.activationId, status: "ACTIVE", registrationLimit: 3 })]);
    expect(JSON.stringify(list.body)).not.toContain(created.activationCode);

    const del = await t.request("DELETE", `/v1/clusters/edge/activations/${created.activationId}`);
    expect(del.status).toBe(200);
    expect(del.body.activation.status).toBe("REVOKED");
    expect(await checkActivation(t.ctx, created.activationId, created.activationCode)).toEqual({ ok: false, reason: "activation was revoked" });
    expect((await t.request("DELETE", "/v1/clusters/edge/activations/nope")).status).toBe(404);
  });

  test("an activation of another cluster cannot be revoked through this one", async () => {
    await t.request("POST", "/v1/clusters", { clusterName: "other" });
    const created = (await t.request("POST", "/v1/clusters/other/activations", {})).body;
    expect((await t.request("DELETE", `/v1/clusters/edge/activations/${created.activationId}`)).status).toBe(404);
    expect((await checkActivation(t.ctx, created.activationId, created.activationCode)).ok).toBe(true);
  });
});

describe("container instance deregistration", () => {
  test("the instance becomes INACTIVE, its credential stops working and its tasks are STOPPED with a reason", async () => {
    const id = await addInstance(t, "edge");
    await t.request("POST", "/v1/task-definitions", { family: "sleeper", containerDefinitions: [{ name: "s", image: "busybox", memory: 16 }] });
    const run = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "sleeper" });
    expect(run.status).toBe(201);
    const taskId = run.body.tasks[0].taskArn.split("/").pop();

    const res = await t.request("DELETE", `/v1/clusters/edge/container-instances/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.containerInstance.status).toBe("INACTIVE");
    const task = (await t.request("GET", `/v1/clusters/edge/tasks/${taskId}`)).body.task;
    expect(task.lastStatus).toBe("STOPPED");
    expect(task.stoppedReason).toBe("Container instance was deregistered");
    const { authenticateInstance } = await import("../../../control/ops/instances.ts");
    expect(await authenticateInstance(t.ctx, id, "anything")).toBeNull();
    const list = (await t.request("GET", "/v1/clusters/edge/container-instances")).body.containerInstances;
    expect(list.map((i: any) => i.containerInstanceId)).not.toContain(id);
  });
});

describe("cluster policy for host-level power", () => {
  const hostly = {
    family: "hostly",
    networkMode: "host",
    pidMode: "host",
    volumes: [{ name: "etc", host: { sourcePath: "/etc" } }, { name: "data", host: { sourcePath: "/srv/data/app" } }],
    containerDefinitions: [
      {
        name: "c",
        image: "busybox",
        memory: 16,
        privileged: true,
        mountPoints: [{ sourceVolume: "etc", containerPath: "/host-etc" }, { sourceVolume: "data", containerPath: "/data" }],
        linuxParameters: { devices: [{ hostPath: "/dev/null" }], capabilities: { add: ["NET_ADMIN", "SYS_ADMIN"] } },
      },
    ],
  };

  test("refused by default at RunTask, naming every field; allowed once the cluster grants it", async () => {
    await addInstance(t, "edge");
    expect((await t.request("POST", "/v1/task-definitions", hostly)).status).toBe(201);
    const refused = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "hostly" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.fields.map((f: any) => f.path).sort()).toEqual(
      [
        "networkMode",
        "pidMode",
        "volumes[0].host.sourcePath",
        "volumes[1].host.sourcePath",
        "containerDefinitions[0].privileged",
        "containerDefinitions[0].linuxParameters.devices",
        "containerDefinitions[0].linuxParameters.capabilities.add[0]",
        "containerDefinitions[0].linuxParameters.capabilities.add[1]",
      ].sort(),
    );
    expect((await t.request("GET", "/v1/clusters/edge/tasks")).body.tasks).toEqual([]);

    // A partial grant: /srv/data only (not /srv/database, not /etc), NET_ADMIN only.
    const put = await t.request("PUT", "/v1/clusters/edge/policy", {
      allowPrivileged: true,
      allowHostNetwork: true,
      allowHostNamespaces: true,
      allowDevices: true,
      allowedHostPaths: ["/srv/data"],
      allowedCapabilities: ["NET_ADMIN"],
    });
    expect(put.status).toBe(200);
    const still = await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "hostly" });
    expect(still.status).toBe(400);
    expect(still.body.error.fields.map((f: any) => f.path).sort()).toEqual(
      ["volumes[0].host.sourcePath", "containerDefinitions[0].linuxParameters.capabilities.add[1]"].sort(),
    );

    await t.request("PUT", "/v1/clusters/edge/policy", {
      allowPrivileged: true,
      allowHostNetwork: true,
      allowHostNamespaces: true,
      allowDevices: true,
      allowedHostPaths: ["/"],
      allowedCapabilities: ["ALL"],
    });
    expect((await t.request("POST", "/v1/clusters/edge/tasks", { taskDefinition: "hostly" })).status).toBe(201);
  });

  test("path prefixes are segment-wise and resist ..", async () => {
    const { underPrefix } = await import("../../../control/ops/policy.ts");
    expect(underPrefix("/srv/data", "/srv/data")).toBe(true);
    expect(underPrefix("/srv/data/x", "/srv/data/")).toBe(true);
    expect(underPrefix("/srv/database", "/srv/data")).toBe(false);
    expect(underPrefix("/srv/data/../../etc", "/srv/data")).toBe(false);
  });

  test("the policy body is strict and needs an existing cluster; read-only cannot change it", async () => {
    const bad = await t.request("PUT", "/v1/clusters/edge/policy", { allowPrivileged: "yes", allowEverything: true });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.fields.map((f: any) => f.path).join(" ");
    expect(paths).toContain("allowPrivileged");
    expect(JSON.stringify(bad.body.error)).toContain("allowEverything");
    expect((await t.request("PUT", "/v1/clusters/nope/policy", {})).status).toBe(404);
    const ro = (await t.request("POST", "/v1/tokens", { name: "ro", role: "read-only" })).body.token;
    expect((await t.request("PUT", "/v1/clusters/edge/policy", { allowPrivileged: true }, ro)).status).toBe(403);
    expect((await t.request("GET", "/v1/clusters/edge/policy", undefined, ro)).body.policy.allowPrivileged).toBe(false);
  });
});
