import Docker from "dockerode";
import type { ContainerRuntime, ContainerSpec, ImagePullBehavior, PortBinding, RuntimeContainer, RuntimeInfo, RuntimeState } from "./types.ts";
import { RuntimeError } from "./types.ts";

const MiB = 1024 * 1024;

function labelFilter(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function parseTime(s: string | undefined): number | undefined {
  if (!s || s.startsWith("0001-")) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** The real runtime: the host's Docker engine through dockerode. */
export class DockerRuntime implements ContainerRuntime {
  private docker: Docker;
  /** Images pulled by this process (for the "once" behaviour). */
  private pulled = new Set<string>();

  constructor(opts: Docker.DockerOptions = {}) {
    this.docker = new Docker(opts);
  }

  async info(): Promise<RuntimeInfo> {
    const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
    return {
      version: version.Version,
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
      architecture: info.Architecture,
      osType: info.OSType,
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

  private async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const failed = err?.message ?? out?.find((o) => o.error)?.error;
        failed ? reject(new Error(failed)) : resolve();
      }),
    );
    this.pulled.add(image);
  }

  async ensureImage(image: string, behavior: ImagePullBehavior): Promise<void> {
    const cached = behavior === "always" ? false : await this.hasImage(image);
    if (behavior === "prefer-cached" && cached) return;
    if (behavior === "once" && cached && this.pulled.has(image)) return;
    try {
      await this.pull(image);
    } catch (e) {
      // ECS's default behaviour: a failed pull falls back to a cached image when there is one.
      if (behavior !== "always" && (cached || (await this.hasImage(image)))) return;
      throw new RuntimeError("CannotPullContainerError", `pull image ${image}: ${(e as Error).message}`);
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostPort: string }[]> = {};
    for (const p of spec.portBindings) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      bindings[key] = [{ HostPort: p.hostPort ? String(p.hostPort) : "" }];
    }
    try {
      const c = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Labels: spec.labels,
        Cmd: spec.command,
        Entrypoint: spec.entryPoint,
        Env: spec.env ? Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) : undefined,
        WorkingDir: spec.workingDirectory,
        User: spec.user,
        Hostname: spec.hostname,
        ExposedPorts: exposed,
        StopTimeout: spec.stopTimeoutSeconds,
        HostConfig: {
          NetworkMode: spec.networkMode,
          PortBindings: spec.networkMode === "bridge" ? bindings : undefined,
          Memory: spec.memoryMiB ? spec.memoryMiB * MiB : undefined,
          MemoryReservation: spec.memoryReservationMiB ? spec.memoryReservationMiB * MiB : undefined,
          CpuShares: spec.cpuShares || undefined,
        },
      });
      return c.id;
    } catch (e) {
      throw new RuntimeError("CannotCreateContainerError", (e as Error).message);
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
          ports.push({ containerPort: Number(port), hostPort: Number(b.HostPort), protocol: proto as "tcp" | "udp" });
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
      };
    } catch (e) {
      if (statusCode(e) === 404) return null;
      throw e;
    }
  }

  watch(labels: Record<string, string>, onHint: () => void): () => void {
    let stopped = false;
    let stream: NodeJS.ReadableStream | undefined;
    const open = () => {
      if (stopped) return;
      this.docker.getEvents({ filters: { type: ["container"], label: labelFilter(labels) } }, (err, s) => {
        if (err || !s) {
          setTimeout(open, 1000);
          return;
        }
        stream = s;
        s.on("data", () => onHint());
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
