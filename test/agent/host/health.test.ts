import { describe, expect, test } from "bun:test";
import { DEFAULT_THRESHOLDS, cpuUtilization, evaluateHealth, meaningfulChange, parseCpuStat, parseMeminfo } from "../../../agent/host/health.ts";

const GiB = 1024 ** 3;
const MEMINFO = "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    2000000 kB\n";

describe("host readings", () => {
  test("parses /proc/stat and computes busy share between samples", () => {
    const a = parseCpuStat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n")!;
    const b = parseCpuStat("cpu  200 0 200 1400 200 0 0 0 0 0\n")!;
    expect(a).toEqual({ idle: 800, total: 1000 });
    expect(cpuUtilization(a, b)).toBe(20); // 200 busy of 1000 jiffies
    expect(cpuUtilization(undefined, b)).toBeUndefined();
    expect(parseCpuStat("nonsense")).toBeUndefined();
  });

  test("parses /proc/meminfo", () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ totalBytes: 8000000 * 1024, availableBytes: 2000000 * 1024 });
    expect(parseMeminfo("MemTotal: 5 kB\n")).toBeUndefined();
  });
});

describe("evaluateHealth", () => {
  const memory = parseMeminfo(MEMINFO)!;
  const disk = { path: "/var/lib/docker", freeBytes: 50 * GiB, totalBytes: 100 * GiB };

  test("all checks pass: OK with metrics", () => {
    const h = evaluateHealth({ at: 10, memory, disk }, undefined, DEFAULT_THRESHOLDS);
    expect(h.overallStatus).toBe("OK");
    expect(h.details.map((d) => d.status)).toEqual(["OK", "OK", "OK"]);
    expect(h.metrics).toMatchObject({ memoryUtilization: 75, diskFreeBytes: 50 * GiB });
  });

  test("each failing check makes the instance IMPAIRED and names itself", () => {
    const down = evaluateHealth({ at: 10, memory, disk, runtimeError: "connect ENOENT /var/run/docker.sock" }, undefined, DEFAULT_THRESHOLDS);
    expect(down.overallStatus).toBe("IMPAIRED");
    expect(down.details[0]).toMatchObject({ type: "CONTAINER_RUNTIME", status: "IMPAIRED" });
    expect(down.details[0]!.reason).toContain("ENOENT");

    const full = evaluateHealth({ at: 10, memory, disk: { ...disk, freeBytes: GiB / 4 } }, undefined, DEFAULT_THRESHOLDS);
    expect(full.details.find((d) => d.type === "DISK_SPACE")).toMatchObject({ status: "IMPAIRED" });

    const pressed = evaluateHealth({ at: 10, memory: { totalBytes: 100, availableBytes: 3 }, disk }, undefined, DEFAULT_THRESHOLDS);
    expect(pressed.details.find((d) => d.type === "MEMORY_PRESSURE")).toMatchObject({ status: "IMPAIRED", reason: "only 3% of memory available" });
  });

  test("lastStatusChange moves only when the status does", () => {
    const first = evaluateHealth({ at: 10, memory, disk }, undefined, DEFAULT_THRESHOLDS);
    const same = evaluateHealth({ at: 20, memory, disk }, undefined, DEFAULT_THRESHOLDS, first);
    expect(same.details[1]!.lastStatusChange).toBe(10);
    const changed = evaluateHealth({ at: 30, memory, disk: { ...disk, freeBytes: 0 } }, undefined, DEFAULT_THRESHOLDS, same);
    expect(changed.details[1]!.lastStatusChange).toBe(30);
    expect(changed.details[0]!.lastStatusChange).toBe(10);
  });

  test("a data root that cannot be measured is not an impairment", () => {
    const h = evaluateHealth({ at: 1, memory, diskError: "cannot stat /x: EACCES" }, undefined, DEFAULT_THRESHOLDS);
    expect(h.overallStatus).toBe("OK");
    expect(h.details[1]!.reason).toContain("not measured");
  });
});

describe("meaningfulChange", () => {
  const at = (ms: number, availableBytes = 50, freeBytes = 50) =>
    evaluateHealth({ at: ms, memory: { totalBytes: 100, availableBytes }, disk: { path: "/", freeBytes, totalBytes: 100 } }, undefined, { ...DEFAULT_THRESHOLDS, minDiskFreeBytes: 0 });
  const base = at(0);

  test("small metric drift is not worth a message; big moves, status changes and staleness are", () => {
    expect(meaningfulChange(undefined, base)).toBe(true);
    expect(meaningfulChange(base, at(60_000, 48, 49))).toBe(false);
    expect(meaningfulChange(base, at(60_000, 40))).toBe(true);
    expect(meaningfulChange(base, at(60_000, 50, 40))).toBe(true);
    expect(meaningfulChange(base, at(60_000, 1))).toBe(true); // MEMORY_PRESSURE flips
    expect(meaningfulChange(base, at(16 * 60_000))).toBe(true);
  });
});
