import { describe, expect, test } from "bun:test";
import { hostFacts } from "../../../agent/host/facts.ts";
import { HostMonitor } from "../../../agent/host/monitor.ts";
import type { ContainerRuntime, RuntimeInfo } from "../../../agent/runtime/types.ts";
import type { HostFacts, InstanceHealth } from "../../../shared/messages.ts";

const INFO: RuntimeInfo = { version: "27.0.1", cpus: 2, memoryBytes: 4 * 1024 ** 3, architecture: "x86_64", osType: "linux", dataRoot: "/var/lib/docker" };

function monitor(infoFn: () => Promise<RuntimeInfo>, addresses: () => string[] = () => ["10.0.0.7"]) {
  const healths: InstanceHealth[] = [];
  const facts: HostFacts[] = [];
  let clock = 0;
  let cpu = 0;
  const m = new HostMonitor({
    runtime: { info: infoFn } as unknown as ContainerRuntime,
    attributes: { zone: "a" },
    initialFacts: hostFacts(INFO, { zone: "a" }, { addresses }),
    addresses,
    intervalMs: 60_000,
    onHealth: (h) => healths.push(h),
    onFacts: (f) => facts.push(f),
    runtimeTimeoutMs: 50,
    readFile: (p) => (p === "/proc/stat" ? `cpu  ${(cpu += 100)} 0 0 ${cpu * 3} 0 0 0 0\n` : "MemTotal: 1000 kB\nMemAvailable: 500 kB\n"),
    statfs: () => ({ bavail: 5000, blocks: 10000, bsize: 1024 ** 2 }),
    now: () => (clock += 1000),
  });
  return { m, healths, facts };
}

describe("HostMonitor", () => {
  test("sends the first reading, then only meaningful changes; a silent runtime is IMPAIRED", async () => {
    let answer: "ok" | "hang" = "ok";
    const { m, healths } = monitor(() => (answer === "ok" ? Promise.resolve(INFO) : new Promise<RuntimeInfo>(() => {})));
    await m.tick();
    expect(healths).toHaveLength(1);
    expect(healths[0]).toMatchObject({ overallStatus: "OK", metrics: { memoryUtilization: 50, diskFreeBytes: 5000 * 1024 ** 2 } });
    await m.tick(); // the second sample brings the first CPU reading: worth sending
    expect(healths[1]!.metrics.cpuUtilization).toBe(25);
    await m.tick(); // nothing moved
    expect(healths).toHaveLength(2);
    answer = "hang";
    await m.tick();
    expect(healths).toHaveLength(3);
    expect(healths[2]!.details[0]).toMatchObject({ type: "CONTAINER_RUNTIME", status: "IMPAIRED" });
    expect(healths[2]!.details[0]!.reason).toContain("no answer within 50 ms");
  });

  test("reports host facts only when they change (Docker upgraded)", async () => {
    let info = INFO;
    const { m, facts } = monitor(() => Promise.resolve(info));
    await m.tick();
    expect(facts).toEqual([]);
    info = { ...INFO, version: "28.0.0" };
    await m.tick();
    await m.tick();
    expect(facts).toHaveLength(1);
    expect(facts[0]!.versionInfo.dockerVersion).toBe("28.0.0");
    expect(facts[0]!.attributes).toMatchObject({ zone: "a" });
  });

  test("reports a changed address (a new DHCP lease) with the facts", async () => {
    let addresses = ["10.0.0.7"];
    const { m, facts } = monitor(() => Promise.resolve(INFO), () => addresses);
    await m.tick();
    expect(facts).toEqual([]);
    addresses = ["10.0.0.9", "fd00::9"];
    await m.tick();
    await m.tick();
    expect(facts.map((f) => f.addresses)).toEqual([["10.0.0.9", "fd00::9"]]);
  });
});
