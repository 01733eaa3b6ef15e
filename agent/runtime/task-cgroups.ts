import * as fs from "node:fs/promises";
import { join } from "node:path";
import type { TaskCgroupResult, TaskResourceLimits } from "./types.ts";
import { RuntimeError } from "./types.ts";

/**
 * Task-level `cpu` and `memory` enforced the way amazon-ecs-agent does on Linux: one cgroup per task
 * (ECS: /ecs/<taskId>, here /flotilla/<taskId>) holding the limits, given to every container of the
 * task as Docker's CgroupParent. With the cgroupfs driver Docker (runc) puts each container's own
 * cgroup below it, so the task's memory limit bounds the sum of its containers and the cpu shares and
 * quota apply to them together. cgroup v1 only (the cgroupfs layout `/sys/fs/cgroup/<subsystem>/...`).
 */

/** Every task cgroup lives under this one, in each hierarchy. */
export const TASK_CGROUP_ROOT = "flotilla";

/** CFS period for the task's quota, as ECS uses (100 ms). */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_CPU_QUOTA_US = 1_000;
/** The kernel's smallest cpu.shares. */
const MIN_CPU_SHARES = 2;

export interface CgroupMount {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The hierarchy's path mounted there; "/" unless the mount is of a sub-tree (a cgroup namespace). */
  root: string;
  /** v1 subsystems of the hierarchy ("cpu", "memory", "name=systemd"); empty for cgroup2. */
  subsystems: string[];
  version: 1 | 2;
}

/** The cgroup hierarchies mounted, from /proc/self/mountinfo's text. Pure. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    // id parent major:minor root mountPoint options [optional fields...] - fstype source superOptions
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(" ");
    const [fstype, , superOptions = ""] = line.slice(dash + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const root = unescapeMountPath(left[3] ?? "/");
    const mountPoint = unescapeMountPath(left[4] ?? "");
    if (!mountPoint || seen.has(mountPoint)) continue;
    seen.add(mountPoint);
    const subsystems = fstype === "cgroup" ? superOptions.split(",").filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("release_agent=") && o !== "clone_children" && o !== "noprefix" && o !== "xattr") : [];
    out.push({ mountPoint, root, subsystems, version: fstype === "cgroup" ? 1 : 2 });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The cgroup v1 files and values for a task's limits. Pure. */
export function cgroupLimitFiles(limits: TaskResourceLimits): { cpu: Record<string, string>; memory: Record<string, string> } {
  const cpu: Record<string, string> = {};
  const memory: Record<string, string> = {};
  if (limits.cpuUnits !== undefined && limits.cpuUnits > 0) {
    cpu["cpu.shares"] = String(Math.max(MIN_CPU_SHARES, Math.round(limits.cpuUnits)));
    // The period first: a quota is checked against the period already in place.
    cpu["cpu.cfs_period_us"] = String(CPU_PERIOD_US);
    cpu["cpu.cfs_quota_us"] = String(Math.max(MIN_CPU_QUOTA_US, Math.round((limits.cpuUnits * CPU_PERIOD_US) / 1024)));
  }
  if (limits.memoryMiB !== undefined && limits.memoryMiB > 0) memory["memory.limit_in_bytes"] = String(limits.memoryMiB * 1024 * 1024);
  return { cpu, memory };
}

/** The few file operations used, so tests can run against an in-memory tree. */
export interface CgroupFs {
  readFile(path: string): Promise<string>;
  mkdir(path: string): Promise<void>;
  writeFile(path: string, data: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

export const nodeCgroupFs: CgroupFs = {
  readFile: (p) => fs.readFile(p, "utf8"),
  mkdir: async (p) => void (await fs.mkdir(p, { recursive: true })),
  writeFile: (p, d) => fs.writeFile(p, d),
  rmdir: (p) => fs.rmdir(p),
};

export interface TaskCgroupsOptions {
  fs?: CgroupFs;
  mountinfoPath?: string;
  /**
   * Asks the container engine which cgroup driver and version it uses; a reason string when task
   * cgroups cannot work with it (the systemd driver wants slices, cgroup v2 other files).
   */
  engineProblem?: () => Promise<string | null>;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;
/** Errors that mean "this host does not let us", not "this task is wrong". */
const HOST_ERRORS = new Set(["EACCES", "EPERM", "EROFS", "ENOENT", "ENOTDIR"]);

/**
 * Creates, updates and removes task cgroups. The first use checks that the host can have them
 * (cgroup v1 cpu and memory hierarchies mounted at their roots, writable, a cgroupfs engine); when it
 * cannot, every call answers `unavailable` with the same one-line reason and nothing is written.
 */
export class TaskCgroups {
  private readonly fs: CgroupFs;
  private checked: Promise<{ cpu: CgroupMount; memory: CgroupMount; all: CgroupMount[] } | string> | undefined;

  constructor(private opts: TaskCgroupsOptions = {}) {
    this.fs = opts.fs ?? nodeCgroupFs;
  }

  /** The CgroupParent containers of the task get (same path in every hierarchy). */
  static parentOf(taskId: string): string {
    return `/${TASK_CGROUP_ROOT}/${taskId}`;
  }

  private hierarchies() {
    this.checked ??= this.check();
    return this.checked;
  }

  private async check(): Promise<{ cpu: CgroupMount; memory: CgroupMount; all: CgroupMount[] } | string> {
    const problem = await this.opts.engineProblem?.().catch((e: Error) => `cannot ask the engine: ${e.message}`);
    if (problem) return problem;
    let mounts: CgroupMount[];
    try {
      mounts = parseCgroupMounts(await this.fs.readFile(this.opts.mountinfoPath ?? "/proc/self/mountinfo"));
    } catch (e) {
      return `cannot read the mount table: ${(e as Error).message}`;
    }
    const v1 = (s: string) => mounts.find((m) => m.version === 1 && m.subsystems.includes(s));
    const cpu = v1("cpu");
    const memory = v1("memory");
    if (!cpu || !memory) {
      return mounts.some((m) => m.version === 2) ? "the host uses cgroup v2 (unified); task cgroups need cgroup v1" : "no cgroup v1 cpu and memory hierarchies are mounted";
    }
    for (const m of [cpu, memory]) {
      if (m.root !== "/") return `${m.mountPoint} shows only the sub-tree ${m.root} (is the agent in a container?); the engine would not see the same paths`;
    }
    // Writable? Creating the common parent is what every task needs anyway.
    for (const m of [cpu, memory]) {
      try {
        await this.fs.mkdir(join(m.mountPoint, TASK_CGROUP_ROOT));
      } catch (e) {
        return `cannot create ${join(m.mountPoint, TASK_CGROUP_ROOT)}: ${(e as Error).message}`;
      }
    }
    return { cpu, memory, all: mounts };
  }

  /** Creates the task's cgroup (or updates it: idempotent, so an adopted task keeps its limits). */
  async ensure(taskId: string, limits: TaskResourceLimits): Promise<TaskCgroupResult> {
    const h = await this.hierarchies();
    if (typeof h === "string") return { unavailable: h };
    checkTaskId(taskId);
    const files = cgroupLimitFiles(limits);
    for (const [mount, values] of [
      [h.cpu, files.cpu],
      [h.memory, files.memory],
    ] as const) {
      const dir = join(mount.mountPoint, TASK_CGROUP_ROOT, taskId);
      try {
        await this.fs.mkdir(dir);
        for (const [file, value] of Object.entries(values)) await this.fs.writeFile(join(dir, file), value);
      } catch (e) {
        if (HOST_ERRORS.has(errno(e) ?? "")) return { unavailable: `cannot write ${dir}: ${(e as Error).message}` };
        throw new RuntimeError("CannotCreateCgroupError", `task cgroup ${dir}: ${(e as Error).message}`);
      }
    }
    return { cgroupParent: TaskCgroups.parentOf(taskId) };
  }

  /**
   * Removes the task's cgroup from every hierarchy (the engine created it in the others when it put
   * containers there). Idempotent; a cgroup still holding processes is left and reported.
   */
  async remove(taskId: string): Promise<void> {
    const h = await this.hierarchies();
    if (typeof h === "string") return;
    checkTaskId(taskId);
    const busy: string[] = [];
    for (const m of h.all) {
      const dir = join(m.mountPoint, TASK_CGROUP_ROOT, taskId);
      try {
        await this.fs.rmdir(dir);
      } catch (e) {
        if (errno(e) === "ENOENT") continue;
        busy.push(`${dir} (${errno(e) ?? (e as Error).message})`);
      }
    }
    if (busy.length) throw new RuntimeError("CannotRemoveCgroupError", `task cgroup not removed: ${busy.join(", ")}`);
  }
}

/** Task ids become path segments: nothing that could climb out of the task root. */
function checkTaskId(taskId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(taskId)) throw new RuntimeError("CannotCreateCgroupError", `task id ${JSON.stringify(taskId)} cannot name a cgroup`);
}

/** Docker's answer to "can task cgroups work with you": only the cgroupfs driver on cgroup v1. */
export function dockerCgroupProblem(info: { CgroupDriver?: string; CgroupVersion?: string }): string | null {
  if (info.CgroupVersion && info.CgroupVersion !== "1") return `Docker uses cgroup v${info.CgroupVersion}; task cgroups need cgroup v1`;
  if (info.CgroupDriver && info.CgroupDriver !== "cgroupfs") return `Docker uses the ${info.CgroupDriver} cgroup driver; task cgroups need cgroupfs`;
  return null;
}
