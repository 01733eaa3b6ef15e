import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { applyHealth } from "../../../control/ops/instances.ts";
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
