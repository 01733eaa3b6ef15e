import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { applyFacts, applyHealth } from "../../../control/ops/instances.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "c" });
});
afterEach(() => t.close());

describe("container instance healthStatus", () => {
  test("before any report: ECS's INSUFFICIENT_DATA", async () => {
    const id = await addInstance(t, "c");
    const ci = (await t.request("GET", `/v1/clusters/c/container-instances/${id}`)).body.containerInstance;
    expect(ci.healthStatus).toEqual({ overallStatus: "INSUFFICIENT_DATA", details: [] });
    expect(ci.hostMetrics).toBeUndefined();
  });

  test("an agent's reading shows in ECS's shape with its metrics", async () => {
    const id = await addInstance(t, "c");
    await applyHealth(t.ctx, id, {
      overallStatus: "IMPAIRED",
      details: [
        { type: "CONTAINER_RUNTIME", status: "OK", lastStatusChange: 1_000 },
        { type: "DISK_SPACE", status: "IMPAIRED", reason: "1 GiB free under /var/lib/docker (1%)", lastStatusChange: 2_000 },
      ],
      metrics: { cpuUtilization: 12.5, memoryUtilization: 40, diskFreeBytes: 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3 },
      checkedAt: 3_000,
    });
    const ci = (await t.request("GET", `/v1/clusters/c/container-instances/${id}`)).body.containerInstance;
    expect(ci.healthStatus).toEqual({
      overallStatus: "IMPAIRED",
      details: [
        { type: "CONTAINER_RUNTIME", status: "OK", lastUpdated: new Date(3_000).toISOString(), lastStatusChange: new Date(1_000).toISOString() },
        {
          type: "DISK_SPACE",
          status: "IMPAIRED",
          reason: "1 GiB free under /var/lib/docker (1%)",
          lastUpdated: new Date(3_000).toISOString(),
          lastStatusChange: new Date(2_000).toISOString(),
        },
      ],
    });
    expect(ci.hostMetrics).toEqual({ cpuUtilization: 12.5, memoryUtilization: 40, diskFreeBytes: 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, updatedAt: new Date(3_000).toISOString() });
  });
});

describe("readings and facts sent again (reconnects, resyncs)", () => {
  const version = async (id: string) => (await t.db.client.execute({ sql: "SELECT version FROM container_instances WHERE id = ?", args: [id] })).rows[0]!.version as number;
  const reading = (checkedAt: number, overallStatus: "OK" | "IMPAIRED" = "OK") => ({
    overallStatus,
    details: [{ type: "CONTAINER_RUNTIME" as const, status: overallStatus, lastStatusChange: 1_000 }],
    metrics: { cpuUtilization: 1 },
    checkedAt,
  });
  const facts = (memory: number) => ({
    hostname: "edge-1",
    resources: { cpu: 2048, memory },
    attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", zone: "a" },
    versionInfo: { agentVersion: "0.1.0", dockerVersion: "20.10" },
  });

  test("the same health reading again writes nothing; a new one is recorded and bumps the version", async () => {
    const id = await addInstance(t, "c");
    await applyHealth(t.ctx, id, reading(5_000));
    const v = await version(id);
    await applyHealth(t.ctx, id, reading(5_000));
    expect(await version(id)).toBe(v);
    await applyHealth(t.ctx, id, reading(6_000, "IMPAIRED"));
    expect(await version(id)).toBe(v + 1);
    const ci = (await t.request("GET", `/v1/clusters/c/container-instances/${id}`)).body.containerInstance;
    expect(ci.healthStatus.overallStatus).toBe("IMPAIRED");
  });

  test("the same host facts again write nothing; changed facts are recorded", async () => {
    const id = await addInstance(t, "c");
    await applyFacts(t.ctx, id, facts(4096));
    const v = await version(id);
    await applyFacts(t.ctx, id, facts(4096));
    expect(await version(id)).toBe(v);
    await applyFacts(t.ctx, id, facts(8192));
    expect(await version(id)).toBe(v + 1);
    const ci = (await t.request("GET", `/v1/clusters/c/container-instances/${id}`)).body.containerInstance;
    expect(ci.registeredResources.find((r: { name: string }) => r.name === "MEMORY").integerValue).toBe(8192);
    expect(ci.attributes).toContainEqual({ name: "zone", value: "a" });
  });
});
