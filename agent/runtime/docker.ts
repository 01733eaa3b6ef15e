import Docker from "dockerode";
import type { ContainerRuntime, ContainerStats, ContainerSpec, ImagePullBehavior, PortBinding, RuntimeContainer, RuntimeInfo, RuntimeState, VolumeSpec } from "./types.ts";
import { createBody, healthFromStatus } from "./docker-create.ts";
import type { LogChunk, LogOptions, PullSummary, RegistryCredentials } from "./types.ts";
import { PullProgress, type DockerPullEvent } from "./pull-progress.ts";
import { DockerLogDemuxer } from "../logs/demux.ts";
import { dockerExec } from "./docker-exec.ts";
import type { ExecOptions, ExecProcess } from "./types.ts";
import { registryHost, type RegistryAuthLookup } from "./registry-auth.ts";
import { RuntimeError, type TaskCgroupResult, type TaskResourceLimits } from "./types.ts";
import { TaskCgroups, dockerCgroupProblem } from "./task-cgroups.ts";
import type { RegistryPuller } from "./registry/registry-pull.ts";

function labelFilter(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function parseTime(s: string | undefined): number | undefined {
  if (!s || s.startsWith("0001-")) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The container events worth a relist: a container ended, vanished or changed health. Not the
 * agent's own create and start (a scale-up of 40 made some 80 relists of every container for
 * them), nor the exec events of every health check run.
 */
export const HINT_EVENTS = ["die", "destroy", "oom", "health_status"] as const;

/**
 * The container id of a Docker event line whose change the container list shows only a moment
 * later (`die`, `health_status: …`), else undefined.
 */
export function settlingContainer(line: string): string | undefined {
  try {
    const e = JSON.parse(line) as { Action?: string; Actor?: { ID?: string }; id?: string };
    const action = e.Action ?? "";
    if (action !== "die" && !action.startsWith("health_status")) return undefined;
    return e.Actor?.ID ?? e.id;
  } catch {
    return undefined;
  }
}

/** The first host address of an IPv4 subnet ("172.17.0.0/16" → "172.17.0.1"). */
export function firstHostAddress(subnet: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!m) return null;
  const bits = Number(m[5]);
  if (bits > 30) return null;
  const ip = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  const network = bits === 0 ? 0 : ip - (ip % 2 ** (32 - bits));
  const first = network + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(first / 2 ** s) % 256).join(".");
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** The real runtime: the host's Docker engine through dockerode. */
export class DockerRuntime implements ContainerRuntime {
  private docker: Docker;
  /** Images pulled by this process (for the "once" behaviour). */
  private pulled = new Set<string>();
  private cgroups: TaskCgroups;
  /** The agent's own registry client, for pulls under a bandwidth cap (registry/registry-pull.ts). */
  private puller: RegistryPuller | undefined;

  constructor(
    opts: Docker.DockerOptions = {},
    /** Credentials for private registries, looked up by the image's registry host. */
    private registryAuth?: RegistryAuthLookup,
    /** Task cgroups on this host (tests pass their own); by default the host's /sys/fs/cgroup. */
    cgroups?: TaskCgroups,
  ) {
    this.docker = new Docker(opts);
    this.cgroups =
      cgroups ??
      new TaskCgroups({
        engineProblem: async () => {
          // A remote engine (tcp://) would put containers in cgroups of another machine.
          const modem = this.docker.modem as { socketPath?: unknown; host?: string };
          if (!modem.socketPath && modem.host && !["localhost", "127.0.0.1", "::1"].includes(modem.host)) return `Docker is remote (${modem.host}); task cgroups are written on this host`;
          return dockerCgroupProblem(await this.docker.info());
        },
      });
  }

  /** Pulls the puller handles (a cap applies) go through it instead of dockerd. */
  usePuller(puller: RegistryPuller): void {
    this.puller = puller;
  }

  ensureTaskCgroup(taskId: string, limits: TaskResourceLimits): Promise<TaskCgroupResult> {
    return this.cgroups.ensure(taskId, limits);
  }

  removeTaskCgroup(taskId: string): Promise<void> {
    return this.cgroups.remove(taskId);
  }

  async info(): Promise<RuntimeInfo> {
    const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
    return {
      version: version.Version,
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
      architecture: info.Architecture,
      osType: info.OSType,
      dataRoot: info.DockerRootDir,
    };
  }

  private async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  private async pull(image: string, onProgress?: (s: PullSummary) => void, credentials?: RegistryCredentials): Promise<void> {
    // The task's own credentials first, then the agent's per-registry file.
    const auth = credentials
      ? { username: credentials.username, password: credentials.password, serveraddress: registryHost(image) }
      : this.registryAuth?.(image);
    if (this.puller?.handles(image)) {
      await this.puller.pull(image, auth, onProgress);
      this.pulled.add(image);
      return;
    }
    const stream = await this.docker.pull(image, auth ? { authconfig: auth } : {});
    const progress = onProgress ? new PullProgress(onProgress) : undefined;
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: { error?: string }[]) => {
          const failed = err?.message ?? out?.find((o) => o.error)?.error;
          failed ? reject(new Error(failed)) : resolve();
        },
        progress ? (e: DockerPullEvent) => progress.push(e) : undefined,
      ),
    );
    this.pulled.add(image);
  }

  async ensureImage(
    image: string,
    behavior: ImagePullBehavior,
    onProgress?: (s: PullSummary) => void,
    credentials?: RegistryCredentials,
  ): Promise<boolean> {
    const present = await this.hasImage(image);
    const cached = behavior === "always" ? false : present;
    if (behavior === "prefer-cached" && cached) return false;
    if (behavior === "once" && cached && this.pulled.has(image)) return false;
    try {
      await this.pull(image, onProgress, credentials);
      // Only an image the engine did not have is the agent's own (others may share the engine).
      return !present;
    } catch (e) {
      // ECS's default behaviour: a failed pull falls back to a cached image when there is one.
      if (behavior !== "always" && (cached || (await this.hasImage(image)))) return false;
      throw new RuntimeError("CannotPullContainerError", `pull image ${image}: ${(e as Error).message}`);
    }
  }

  async imagesInUse(): Promise<Set<string>> {
    const rows = await this.docker.listContainers({ all: true });
    return new Set(rows.flatMap((r) => [r.Image, r.ImageID]));
  }

  async imageId(image: string): Promise<string | null> {
    try {
      return (await this.docker.getImage(image).inspect()).Id;
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
  }

  async imageLabels(image: string): Promise<Record<string, string> | null> {
    try {
      return (await this.docker.getImage(image).inspect()).Config?.Labels ?? {};
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
  }

  async loadImage(archive: Uint8Array): Promise<void> {
    try {
      const error = await loadError(await this.docker.loadImage(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength) as never, { quiet: true }));
      if (error) throw new Error(error);
    } catch (e) {
      throw new RuntimeError("CannotPullContainerError", `load image: ${(e as Error).message}`);
    }
  }

  /** `docker load` of an archive stream (the agent's own pulls), failing on the engine's in-stream error. */
  async loadImageStream(archive: NodeJS.ReadableStream): Promise<void> {
    const error = await loadError(await this.docker.loadImage(archive, { quiet: true }));
    if (error) throw new Error(`docker load: ${error}`);
  }

  async removeImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).remove({ force: false, noprune: false });
    } catch (e) {
      if (statusCode(e) === 404) return;
      throw new RuntimeError("CannotRemoveImageError", (e as Error).message);
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    try {
      const c = await this.docker.createContainer(createBody(spec));
      return c.id;
    } catch (e) {
      throw new RuntimeError("CannotCreateContainerError", (e as Error).message);
    }
  }

  async ensureNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
      return;
    } catch (e) {
      if (statusCode(e) !== 404) throw new RuntimeError("CannotCreateNetworkError", (e as Error).message);
    }
    try {
      await this.docker.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: true, Labels: { "flotilla.network": "task" } });
    } catch (e) {
      // Another agent (or a concurrent task) created it first: that is the same result.
      if (statusCode(e) === 409) return;
      throw new RuntimeError("CannotCreateNetworkError", (e as Error).message);
    }
  }

  async ensureVolume(v: VolumeSpec, create: boolean): Promise<void> {
    try {
      await this.docker.getVolume(v.name).inspect();
      return;
    } catch (e) {
      if (statusCode(e) !== 404) throw new RuntimeError("CannotCreateVolumeError", (e as Error).message);
    }
    if (!create) throw new RuntimeError("CannotCreateVolumeError", `volume ${v.name} does not exist and autoprovision is off`);
    try {
      await this.docker.createVolume({ Name: v.name, Driver: v.driver ?? "local", DriverOpts: v.driverOpts ?? {}, Labels: v.labels ?? {} });
    } catch (e) {
      throw new RuntimeError("CannotCreateVolumeError", (e as Error).message);
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (e) {
      if (statusCode(e) === 404) return;
      throw new RuntimeError("CannotRemoveVolumeError", (e as Error).message);
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if (statusCode(e) === 304) return; // already started
      throw new RuntimeError("CannotStartContainerError", (e as Error).message);
    }
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (e) {
      const code = statusCode(e);
      if (code === 304 || code === 404) return; // already stopped or gone
      throw new RuntimeError("CannotStopContainerError", (e as Error).message);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      if (statusCode(e) === 404 || statusCode(e) === 409) return;
      throw new RuntimeError("CannotRemoveContainerError", (e as Error).message);
    }
  }

  async list(labels: Record<string, string>): Promise<RuntimeContainer[]> {
    const rows = await this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
    return rows.map((r) => ({
      id: r.Id,
      name: (r.Names[0] ?? "").replace(/^\//, ""),
      labels: r.Labels,
      state: r.State as RuntimeState,
      // "Exited (3) 2 seconds ago": the list carries the exit code, saving an inspect per container.
      exitCode: r.State === "exited" ? Number(/Exited \((-?\d+)\)/.exec(r.Status)?.[1] ?? NaN) : undefined,
      // "Up 3 seconds (healthy)": the list carries health too, so a relist notices a flip without an inspect.
      health: healthFromStatus(r.Status),
      ports: r.Ports.filter((p) => p.PublicPort).map(
        (p): PortBinding => ({ containerPort: p.PrivatePort, hostPort: p.PublicPort, protocol: p.Type as "tcp" | "udp" }),
      ),
    }));
  }

  async inspect(id: string): Promise<RuntimeContainer | null> {
    try {
      const i = await this.docker.getContainer(id).inspect();
      const ports: PortBinding[] = [];
      for (const [key, binds] of Object.entries(i.NetworkSettings.Ports ?? {})) {
        const [port, proto] = key.split("/");
        for (const b of binds ?? []) {
          if (b.HostIp === "::") continue; // the same binding again for IPv6
          ports.push({ containerPort: Number(port), hostPort: Number(b.HostPort), protocol: proto as "tcp" | "udp", hostIp: b.HostIp || "0.0.0.0" });
        }
      }
      return {
        id: i.Id,
        name: i.Name.replace(/^\//, ""),
        labels: i.Config.Labels ?? {},
        state: i.State.Status as RuntimeState,
        exitCode: i.State.Status === "exited" || i.State.Status === "dead" ? i.State.ExitCode : undefined,
        startedAt: parseTime(i.State.StartedAt),
        finishedAt: parseTime(i.State.FinishedAt),
        ports,
        error: i.State.Error || undefined,
        oomKilled: i.State.OOMKilled || undefined,
        imageId: i.Image || undefined,
        createdAt: parseTime(i.Created),
        mounts: (i.Mounts ?? []).map((m) => ({ name: m.Name || undefined, source: m.Source, destination: m.Destination })),
        health: (i.State.Health?.Status as RuntimeContainer["health"] | "none" | undefined) === "none" ? undefined : (i.State.Health?.Status as RuntimeContainer["health"]),
        ipAddresses: Object.fromEntries(
          Object.entries(i.NetworkSettings.Networks ?? {})
            .filter(([, n]) => n.IPAddress)
            .map(([name, n]) => [name, n.IPAddress]),
        ),
      };
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
  }

  async stats(id: string): Promise<ContainerStats | null> {
    try {
      return (await this.docker.getContainer(id).stats({ stream: false })) as unknown as ContainerStats;
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
  }

  /**
   * The default bridge's gateway: Docker names it in the network's IPAM config when it was set
   * (`--bip`, `default-address-pools`); otherwise Docker gave the bridge the first address of its
   * subnet. (The bridge interface itself cannot be asked: without containers it has no carrier, and
   * Node's interface list leaves such interfaces out.)
   */
  async bridgeAddress(): Promise<string | null> {
    let net;
    try {
      net = await this.docker.getNetwork("bridge").inspect();
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
    const configs = ((net.IPAM?.Config ?? []) as { Gateway?: string; Subnet?: string }[]).filter((c) => c.Subnet && !c.Subnet.includes(":"));
    const gateway = configs.find((c) => c.Gateway)?.Gateway;
    return gateway ?? (configs[0] ? firstHostAddress(configs[0].Subnet!) : null);
  }

  async *logs(id: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogChunk> {
    const container = this.docker.getContainer(id);
    const raw = (await container.logs({
      stdout: true,
      stderr: true,
      follow: (opts.follow ?? false) as true,
      // Docker reads a missing tail as "all".
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
      since: opts.since ?? 0,
    })) as unknown as NodeJS.ReadableStream | Buffer;
    const demux = new DockerLogDemuxer();
    if (Buffer.isBuffer(raw)) {
      yield* demux.push(raw);
      return;
    }
    const stream = raw as NodeJS.ReadableStream & { destroy(): void };
    const abort = () => stream.destroy();
    signal.addEventListener("abort", abort, { once: true });
    try {
      for await (const piece of stream) {
        if (signal.aborted) break;
        yield* demux.push(typeof piece === "string" ? Buffer.from(piece) : (piece as Uint8Array));
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    } finally {
      signal.removeEventListener("abort", abort);
      stream.destroy();
    }
  }

  exec(id: string, opts: ExecOptions): Promise<ExecProcess> {
    return dockerExec(this.docker, id, opts);
  }

  watch(labels: Record<string, string>, onHint: () => void): () => void {
    let stopped = false;
    let stream: NodeJS.ReadableStream | undefined;
    const open = () => {
      if (stopped) return;
      this.docker.getEvents({ filters: { type: ["container"], label: labelFilter(labels), event: [...HINT_EVENTS] } }, (err, s) => {
        if (err || !s) {
          setTimeout(open, 1000);
          return;
        }
        if (stopped) return void (s as unknown as { destroy(): void }).destroy();
        stream = s;
        // Whatever happened while the stream was down went unseen: look once now.
        onHint();
        let partial = "";
        s.on("data", (chunk: Buffer) => {
          const lines = (partial + chunk.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          let now = lines.length === 0;
          for (const line of lines) {
            const id = settlingContainer(line);
            // Docker sends `die` (and a health flip) before its container list shows the change, so
            // a relist on the event alone still sees "running" and the exit waits for the next
            // periodic relist. An inspect waits on the container's lock, which the daemon holds
            // until the list shows the new state: hint once it answers.
            if (id) void this.docker.getContainer(id).inspect().catch(() => undefined).then(onHint);
            else if (line.trim()) now = true;
          }
          if (now) onHint();
        });
        s.on("end", () => setTimeout(open, 1000));
        s.on("error", () => undefined);
      });
    };
    open();
    return () => {
      stopped = true;
      (stream as unknown as { destroy?: () => void })?.destroy?.();
    };
  }
}

/** Reads a `docker load` answer to its end: the engine answers 200 and reports a bad archive inside the JSON stream. */
async function loadError(stream: unknown): Promise<string | undefined> {
  let body = "";
  for await (const chunk of stream as AsyncIterable<Buffer>) body += chunk.toString();
  return body
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { error?: string })
    .find((m) => m.error)?.error;
}
