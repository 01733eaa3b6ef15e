import { describe, expect, test } from "bun:test";
import { cgroupLimitFiles, dockerCgroupProblem, parseCgroupMounts, TaskCgroups, type CgroupFs } from "../../../agent/runtime/task-cgroups.ts";
import { RuntimeError } from "../../../agent/runtime/types.ts";

/** cgroup v1 as this project's Docker host has it (hybrid: v1 controllers plus a v2 "unified" mount). */
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const UNIFIED = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
const IN_CONTAINER = `32 31 0:29 /docker/abc /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
`;

/** An in-memory cgroup tree: directories and the control files written to them. */
function memoryFs(mountinfo: string, failing: Record<string, string> = {}) {
  const dirs = new Set<string>();
  const files = new Map<string, string>();
  const fail = (path: string) => {
    for (const [prefix, code] of Object.entries(failing)) {
      if (path.startsWith(prefix)) throw Object.assign(new Error(`${code}: ${path}`), { code });
    }
  };
  const fs: CgroupFs = {
    readFile: async (p) => {
      if (p === "/proc/self/mountinfo") return mountinfo;
      const v = files.get(p);
      if (v === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: "ENOENT" });
      return v;
    },
    mkdir: async (p) => {
      fail(p);
      dirs.add(p);
    },
    writeFile: async (p, d) => {
      fail(p);
      files.set(p, d);
    },
    rmdir: async (p) => {
      fail(p);
      if (!dirs.delete(p)) throw Object.assign(new Error(`ENOENT ${p}`), { code: "ENOENT" });
    },
  };
  return { fs, dirs, files };
}

describe("parseCgroupMounts", () => {
  test("finds v1 hierarchies with their subsystems, and v2", () => {
    const m = parseCgroupMounts(HYBRID);
    expect(m.map((x) => x.mountPoint)).toEqual([
      "/sys/fs/cgroup/cpu",
      "/sys/fs/cgroup/cpuacct",
      "/sys/fs/cgroup/memory",
      "/sys/fs/cgroup/pids",
      "/sys/fs/cgroup/systemd",
      "/sys/fs/cgroup/unified",
    ]);
    expect(m.find((x) => x.mountPoint.endsWith("/memory"))).toEqual({ mountPoint: "/sys/fs/cgroup/memory", root: "/", subsystems: ["memory"], version: 1 });
    expect(m.find((x) => x.mountPoint.endsWith("/systemd"))?.subsystems).toEqual(["name=systemd"]);
    expect(m.at(-1)).toMatchObject({ version: 2, subsystems: [] });
    expect(parseCgroupMounts(IN_CONTAINER)[0]).toMatchObject({ root: "/docker/abc", subsystems: ["cpu", "cpuacct"] });
  });
});

describe("cgroupLimitFiles", () => {
  test("cpu units become shares and a CFS quota of units/1024 CPUs; memory a byte limit", () => {
    expect(cgroupLimitFiles({ cpuUnits: 512, memoryMiB: 96 })).toEqual({
      cpu: { "cpu.shares": "512", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000" },
      memory: { "memory.limit_in_bytes": String(96 * 1024 * 1024) },
    });
    expect(cgroupLimitFiles({ cpuUnits: 4096 }).cpu["cpu.cfs_quota_us"]).toBe("400000");
    expect(cgroupLimitFiles({ memoryMiB: 64 }).cpu).toEqual({});
    expect(cgroupLimitFiles({ cpuUnits: 1 }).cpu).toMatchObject({ "cpu.shares": "2", "cpu.cfs_quota_us": "1000" });
  });
});

describe("TaskCgroups", () => {
  test("ensure creates the task's cgroup in the cpu and memory hierarchies with its limits; remove takes it out of all", async () => {
    const mem = memoryFs(HYBRID);
    const cg = new TaskCgroups({ fs: mem.fs });
    expect(await cg.ensure("t-1", { cpuUnits: 256, memoryMiB: 64 })).toEqual({ cgroupParent: "/flotilla/t-1" });
    expect(mem.files.get("/sys/fs/cgroup/cpu/flotilla/t-1/cpu.cfs_quota_us")).toBe("25000");
    expect(mem.files.get("/sys/fs/cgroup/memory/flotilla/t-1/memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    // Idempotent: an adopted task gets the same cgroup back.
    expect(await cg.ensure("t-1", { cpuUnits: 256, memoryMiB: 64 })).toEqual({ cgroupParent: "/flotilla/t-1" });
    // The engine adds the task's directory in the other hierarchies when it puts containers there.
    mem.dirs.add("/sys/fs/cgroup/pids/flotilla/t-1");
    mem.dirs.add("/sys/fs/cgroup/unified/flotilla/t-1");
    await cg.remove("t-1");
    expect([...mem.dirs].filter((d) => d.includes("t-1"))).toEqual([]);
    await cg.remove("t-1"); // idempotent
  });

  test("a host without cgroup v1, in a cgroup sub-tree, not writable or with another driver: unavailable with a reason, nothing written", async () => {
    const cases: [string, TaskCgroups, RegExp][] = [
      ["unified", new TaskCgroups({ fs: memoryFs(UNIFIED).fs }), /cgroup v2/],
      ["in a container", new TaskCgroups({ fs: memoryFs(IN_CONTAINER).fs }), /sub-tree \/docker\/abc/],
      ["read-only", new TaskCgroups({ fs: memoryFs(HYBRID, { "/sys/fs/cgroup": "EROFS" }).fs }), /cannot create \/sys\/fs\/cgroup\/cpu\/flotilla: EROFS/],
      ["systemd driver", new TaskCgroups({ fs: memoryFs(HYBRID).fs, engineProblem: async () => dockerCgroupProblem({ CgroupDriver: "systemd", CgroupVersion: "1" }) }), /systemd cgroup driver/],
    ];
    for (const [, cg, reason] of cases) {
      const got = await cg.ensure("t-1", { memoryMiB: 64 });
      expect("unavailable" in got && got.unavailable).toMatch(reason);
      await cg.remove("t-1"); // nothing to do, no error
    }
  });

  test("a task id that could leave the task root is refused", async () => {
    const cg = new TaskCgroups({ fs: memoryFs(HYBRID).fs });
    await expect(cg.ensure("../escape", { memoryMiB: 64 })).rejects.toBeInstanceOf(RuntimeError);
  });

  test("a cgroup still holding a container is not removed, and says which", async () => {
    const mem = memoryFs(HYBRID);
    const cg = new TaskCgroups({ fs: mem.fs });
    await cg.ensure("t-2", { memoryMiB: 64 });
    const busy = { ...mem.fs, rmdir: async (p: string) => (p.includes("/memory/") ? Promise.reject(Object.assign(new Error("EBUSY"), { code: "EBUSY" })) : mem.fs.rmdir(p)) };
    const err = await new TaskCgroups({ fs: busy }).remove("t-2").catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toContain("/sys/fs/cgroup/memory/flotilla/t-2 (EBUSY)");
  });

  test("dockerCgroupProblem accepts only cgroupfs on v1", () => {
    expect(dockerCgroupProblem({ CgroupDriver: "cgroupfs", CgroupVersion: "1" })).toBeNull();
    expect(dockerCgroupProblem({ CgroupDriver: "cgroupfs", CgroupVersion: "2" })).toMatch(/cgroup v2/);
  });
});
