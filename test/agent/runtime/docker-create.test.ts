import { describe, expect, test } from "bun:test";
import { createBody, healthFromStatus } from "../../../agent/runtime/docker-create.ts";
import type { ContainerSpec } from "../../../agent/runtime/types.ts";

const base: ContainerSpec = { name: "n", image: "i", labels: {}, networkMode: "bridge", portBindings: [], stopTimeoutSeconds: 30 };

describe("Docker create body", () => {
  test("health check in nanoseconds, binds with :ro, volumesFrom, limits in bytes", () => {
    const b = createBody({
      ...base,
      healthCheck: { test: ["CMD", "true"], intervalSeconds: 5, timeoutSeconds: 2, retries: 1, startPeriodSeconds: 3 },
      mounts: [{ source: "/a", target: "/b", readOnly: true }, { source: "vol", target: "/v", readOnly: false }],
      volumesFrom: ["other:ro"],
      memoryMiB: 10,
      memorySwapMiB: 20,
      portBindings: [{ containerPort: 80, hostPort: 0, protocol: "tcp" }],
    });
    expect(b.Healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 5e9, Timeout: 2e9, Retries: 1, StartPeriod: 3e9 });
    expect(b.HostConfig.Binds).toEqual(["/a:/b:ro", "vol:/v"]);
    expect(b.HostConfig.VolumesFrom).toEqual(["other:ro"]);
    expect(b.HostConfig.Memory).toBe(10 * 1024 * 1024);
    expect(b.HostConfig.MemorySwap).toBe(20 * 1024 * 1024);
    expect(b.HostConfig.PortBindings).toEqual({ "80/tcp": [{ HostPort: "" }] });
  });

  test("a container joining another's namespace leaves hostname, DNS, hosts and ports to it", () => {
    const b = createBody({
      ...base,
      networkMode: "container:owner",
      hostname: "h",
      dnsServers: ["1.1.1.1"],
      extraHosts: ["a:1.2.3.4"],
      portBindings: [{ containerPort: 80, hostPort: 80, protocol: "tcp" }],
    });
    expect(b.HostConfig.NetworkMode).toBe("container:owner");
    expect([b.Hostname, b.HostConfig.Dns, b.HostConfig.ExtraHosts, b.HostConfig.PortBindings, b.ExposedPorts]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("a user network replaces the default bridge", () => {
    expect(createBody({ ...base, networkName: "flotilla" }).HostConfig.NetworkMode).toBe("flotilla");
  });

  test("health from docker ps status text", () => {
    expect(healthFromStatus("Up 3 seconds (healthy)")).toBe("healthy");
    expect(healthFromStatus("Up 3 seconds (unhealthy)")).toBe("unhealthy");
    expect(healthFromStatus("Up 1 second (health: starting)")).toBe("starting");
    expect(healthFromStatus("Up 1 second")).toBeUndefined();
  });
});
