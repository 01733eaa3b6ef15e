import { randomBytes } from "node:crypto";
import type {
  ContainerRuntime,
  ContainerSpec,
  ContainerStats,
  ImagePullBehavior,
  PortBinding,
  RuntimeContainer,
  RuntimeInfo,
  RuntimeState,
  TaskCgroupResult,
  TaskResourceLimits,
} from "./types.ts";
import { RuntimeError } from "./types.ts";
import { readTar } from "./pause-image/tar.ts";

/**
 * Latencies of the simulated engine. The defaults are close to what a local Docker engine takes for
 * a small cached image on this class of machine, so fleet numbers are not flattered by a runtime
 * that answers instantly.
 */
export interface HollowTimings {
  pullLatencyMs: number;
  createLatencyMs: number;
  startLatencyMs: number;
  /** Time a container takes to exit after the stop signal (capped by the stop timeout). */
  stopLatencyMs: number;
  removeLatencyMs: number;
}

export interface HollowRuntimeOptions {
  timings?: Partial<HollowTimings>;
  /** Images present before anything is pulled. */
  cachedImages?: string[];
  /** Images that fail to pull (CannotPullContainerError). */
  unpullableImages?: string[];
  info?: Partial<RuntimeInfo>;
  now?: () => number;
  /** Why task cgroups are unavailable on this simulated host (default: they are available). */
  taskCgroupsUnavailable?: string;
  /**
   * What a running container uses, as its stats readings say: CPU units (1024 = one CPU) and
   * memory bytes (default: nothing).
   */
  usage?: (spec: ContainerSpec) => { cpuUnits: number; memoryBytes: number };
}

export const DEFAULT_HOLLOW_TIMINGS: HollowTimings = {
  pullLatencyMs: 200,
  createLatencyMs: 15,
  startLatencyMs: 40,
  stopLatencyMs: 10,
  removeLatencyMs: 10,
};

interface HollowContainer {
  id: string;
  spec: ContainerSpec;
  state: RuntimeState;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  ports: PortBinding[];
  oomKilled?: boolean;
}

const delay = (ms: number) => (ms > 0 ? Bun.sleep(ms) : Promise.resolve());

function matches(labels: Record<string, string>, want: Record<string, string>): boolean {
  for (const k in want) if (labels[k] !== want[k]) return false;
  return true;
}

/**
 * An in-memory container runtime with the same contract as the Docker one: labels, list, inspect,
 * watch hints, stop with exit codes. Used by benchmarks and scale tests to run thousands of real
 * agents on one machine; `exit()` lets a test make a container die on its own.
 */
export class HollowRuntime implements ContainerRuntime {
  readonly timings: HollowTimings;
  private containers = new Map<string, HollowContainer>();
  private names = new Map<string, string>();
  private images: Set<string>;
  private imageLabelsOf = new Map<string, Record<string, string>>();
  private pulled = new Set<string>();
  private unpullable: Set<string>;
  private watchers = new Set<{ labels: Record<string, string>; onHint: () => void }>();
  private nextHostPort = 32768;
  /** Task cgroups that exist (task id → limits), as /flotilla/<taskId> would on a real host. */
  readonly taskCgroups = new Map<string, TaskResourceLimits>();
  private readonly now: () => number;
  /** Counts of runtime calls, for benchmarks. */
  readonly calls = { pull: 0, load: 0, create: 0, start: 0, stop: 0, remove: 0, list: 0, inspect: 0 };

  constructor(private opts: HollowRuntimeOptions = {}) {
    this.timings = { ...DEFAULT_HOLLOW_TIMINGS, ...opts.timings };
    this.images = new Set(opts.cachedImages ?? []);
    this.unpullable = new Set(opts.unpullableImages ?? []);
    this.now = opts.now ?? Date.now;
  }

  async info(): Promise<RuntimeInfo> {
    return { version: "hollow-1", cpus: 2, memoryBytes: 4 * 1024 ** 3, architecture: "x86_64", osType: "linux", ...this.opts.info };
  }

  /** Same decisions as the Docker runtime: "default" pulls and falls back to a cached image. */
  async ensureImage(image: string, behavior: ImagePullBehavior): Promise<boolean> {
    const cached = behavior !== "always" && this.images.has(image);
    if (behavior === "prefer-cached" && cached) return false;
    if (behavior === "once" && cached && this.pulled.has(image)) return false;
    this.calls.pull++;
    await delay(this.timings.pullLatencyMs);
    if (this.unpullable.has(image)) {
      if (cached) return false;
      throw new RuntimeError("CannotPullContainerError", `pull image ${image}: repository does not exist`);
    }
    // As Docker's: true when the engine did not have the image before (the agent then owns it).
    const had = this.images.has(image);
    this.images.add(image);
    this.pulled.add(image);
    return !had;
  }

  async imageLabels(image: string): Promise<Record<string, string> | null> {
    return this.images.has(image) ? { ...this.imageLabelsOf.get(image) } : null;
  }

  /** Reads the `docker save` archive as Docker would: each manifest entry's tags and config labels. */
  async loadImage(archive: Uint8Array): Promise<void> {
    this.calls.load++;
    const files = readTar(archive);
    const manifest = files.get("manifest.json");
    if (!manifest) throw new RuntimeError("CannotPullContainerError", "load image: no manifest.json in the archive");
    const dec = new TextDecoder();
    for (const m of JSON.parse(dec.decode(manifest)) as { Config: string; RepoTags?: string[] }[]) {
      const config = files.get(m.Config);
      if (!config) throw new RuntimeError("CannotPullContainerError", `load image: ${m.Config} is missing from the archive`);
      const labels = (JSON.parse(dec.decode(config)) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
      for (const tag of m.RepoTags ?? []) {
        this.images.add(tag);
        this.imageLabelsOf.set(tag, labels);
      }
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    this.calls.create++;
    await delay(this.timings.createLatencyMs);
    if (!this.images.has(spec.image)) throw new RuntimeError("CannotCreateContainerError", `No such image: ${spec.image}`);
    if (this.names.has(spec.name)) throw new RuntimeError("CannotCreateContainerError", `Conflict. The container name "/${spec.name}" is already in use`);
    // As runc would, a container under a task cgroup that does not exist gets one without limits:
    // refusing here catches an engine that forgot to create it first.
    const parentTask = spec.cgroupParent?.split("/").pop();
    if (spec.cgroupParent && !this.taskCgroups.has(parentTask ?? "")) {
      throw new RuntimeError("CannotCreateContainerError", `cgroup parent ${spec.cgroupParent} does not exist`);
    }
    const id = randomBytes(32).toString("hex");
    this.containers.set(id, { id, spec, state: "created", ports: [] });
    this.names.set(spec.name, id);
    this.hint(spec.labels);
    return id;
  }

  async start(id: string): Promise<void> {
    this.calls.start++;
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError("CannotStartContainerError", `No such container: ${id}`);
    if (c.state === "running") return;
    await delay(this.timings.startLatencyMs);
    c.state = "running";
    c.startedAt = this.now();
    c.finishedAt = undefined;
    c.exitCode = undefined;
    c.oomKilled = undefined;
    c.ports =
      c.spec.networkMode === "bridge"
        ? c.spec.portBindings.map((p) => ({ ...p, hostPort: p.hostPort || this.nextHostPort++ }))
        : [];
    this.hint(c.spec.labels);
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    this.calls.stop++;
    const c = this.containers.get(id);
    if (!c || c.state !== "running") return;
    // A process that outlives the timeout is killed (137), as Docker does.
    const killed = this.timings.stopLatencyMs > timeoutSeconds * 1000;
    await delay(Math.min(this.timings.stopLatencyMs, timeoutSeconds * 1000));
    if (c.state === "running") this.finish(c, killed ? 137 : 0);
  }

  async remove(id: string): Promise<void> {
    this.calls.remove++;
    const c = this.containers.get(id);
    if (!c) return;
    await delay(this.timings.removeLatencyMs);
    if (!this.containers.delete(id)) return;
    this.names.delete(c.spec.name);
    this.hint(c.spec.labels);
  }

  async list(labels: Record<string, string>): Promise<RuntimeContainer[]> {
    this.calls.list++;
    const out: RuntimeContainer[] = [];
    for (const c of this.containers.values()) if (matches(c.spec.labels, labels)) out.push(this.view(c));
    return out;
  }

  async inspect(id: string): Promise<RuntimeContainer | null> {
    this.calls.inspect++;
    const c = this.containers.get(id);
    return c ? this.view(c) : null;
  }

  /**
   * A reading in Docker's stats shape, as `stream=false` gives it: two samples a second apart
   * (`precpu_stats`, `cpu_stats`) on a 2-CPU host, using what `usage` says (default nothing), and the
   * container's memory limit as the limit.
   */
  async stats(id: string): Promise<ContainerStats | null> {
    const c = this.containers.get(id);
    if (!c) return null;
    const running = c.state === "running";
    const use = running ? (this.opts.usage?.(c.spec) ?? { cpuUnits: 0, memoryBytes: 0 }) : { cpuUnits: 0, memoryBytes: 0 };
    const now = this.now();
    const cpus = 2;
    // Nanoseconds, as the engine counts them: the host's cpu time runs at `cpus` seconds a second.
    const systemAt = (ms: number) => ms * 1e6 * cpus;
    // The container's own cpu time at a steady `cpuUnits`, counted from a second before it started
    // (so a reading right after the start still spans a full second of use).
    const since = (c.startedAt ?? now) - 1000;
    const totalAt = (ms: number) => Math.round((Math.max(0, ms - since) * 1e6 * use.cpuUnits) / 1024);
    const pre = { system: systemAt(now - 1000), total: totalAt(now - 1000) };
    const cur = { system: systemAt(now), total: totalAt(now) };
    const cpu = (s: { system: number; total: number }) => ({
      cpu_usage: { total_usage: s.total, usage_in_kernelmode: 0, usage_in_usermode: s.total },
      system_cpu_usage: s.system,
      online_cpus: cpus,
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    });
    return {
      read: new Date(now).toISOString(),
      preread: new Date(now - 1000).toISOString(),
      name: `/${c.spec.name}`,
      id: c.id,
      pids_stats: { current: running ? 1 : 0 },
      blkio_stats: { io_service_bytes_recursive: [] },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: cpu(cur),
      precpu_stats: cpu(pre),
      memory_stats: running ? { usage: use.memoryBytes, limit: (c.spec.memoryMiB ?? 4096) * 1024 * 1024, stats: { inactive_file: 0 } } : {},
      networks: running && c.spec.networkMode === "bridge" ? { eth0: { rx_bytes: 0, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 } } : undefined,
    };
  }

  async ensureTaskCgroup(taskId: string, limits: TaskResourceLimits): Promise<TaskCgroupResult> {
    if (this.opts.taskCgroupsUnavailable) return { unavailable: this.opts.taskCgroupsUnavailable };
    this.taskCgroups.set(taskId, { ...limits });
    return { cgroupParent: `/flotilla/${taskId}` };
  }

  async removeTaskCgroup(taskId: string): Promise<void> {
    const parent = `/flotilla/${taskId}`;
    const holding = [...this.containers.values()].some((c) => c.spec.cgroupParent === parent && c.state === "running");
    if (holding) throw new RuntimeError("CannotRemoveCgroupError", `task cgroup ${parent} still has running containers`);
    this.taskCgroups.delete(taskId);
  }

  watch(labels: Record<string, string>, onHint: () => void): () => void {
    const w = { labels, onHint };
    this.watchers.add(w);
    return () => void this.watchers.delete(w);
  }

  // ---- test and benchmark controls ----

  /** Makes a running container exit on its own with the given code (a crash, OOM kill, ...). */
  exit(id: string, exitCode: number, how: { oomKilled?: boolean } = {}): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no hollow container ${id}`);
    if (c.state !== "running") return;
    c.oomKilled = how.oomKilled;
    this.finish(c, exitCode);
  }

  /** Removes a container behind the agent's back, as `docker rm -f` would. */
  forceRemove(id: string): void {
    const c = this.containers.get(id);
    if (!c) return;
    this.containers.delete(id);
    this.names.delete(c.spec.name);
    this.hint(c.spec.labels);
  }

  /** The spec a container was created from (what the engine asked for). */
  specOf(id: string): ContainerSpec | undefined {
    return this.containers.get(id)?.spec;
  }

  /** Containers currently running (all labels). */
  running(): RuntimeContainer[] {
    return [...this.containers.values()].filter((c) => c.state === "running").map((c) => this.view(c));
  }

  addImage(image: string): void {
    this.images.add(image);
  }

  private finish(c: HollowContainer, exitCode: number): void {
    c.state = "exited";
    c.exitCode = exitCode;
    c.finishedAt = this.now();
    this.hint(c.spec.labels);
  }

  private hint(labels: Record<string, string>): void {
    for (const w of this.watchers) if (matches(labels, w.labels)) queueMicrotask(w.onHint);
  }

  private view(c: HollowContainer): RuntimeContainer {
    return {
      id: c.id,
      name: c.spec.name,
      labels: { ...c.spec.labels },
      state: c.state,
      exitCode: c.state === "exited" || c.state === "dead" ? c.exitCode : undefined,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      ports: c.ports.map((p) => ({ ...p })),
      oomKilled: c.oomKilled,
    };
  }
}
