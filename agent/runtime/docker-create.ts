import { dockerHealthConfig } from "../../shared/task-definition/docker.ts";
import type { ContainerSpec, RuntimeContainer } from "./types.ts";

/**
 * The Docker Engine create-container body for a ContainerSpec. Pure, so every option's mapping is
 * unit-tested without an engine.
 */

const MiB = 1024 * 1024;

/** Docker rejects these together with a `container:` network mode; they belong to the namespace owner. */
function sharesNamespace(spec: ContainerSpec): boolean {
  return spec.networkMode.startsWith("container:");
}

export function createBody(spec: ContainerSpec) {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const p of spec.portBindings) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [{ HostPort: p.hostPort ? String(p.hostPort) : "" }];
  }
  const joined = sharesNamespace(spec);
  const publishes = spec.networkMode === "bridge";
  const hc = spec.healthCheck;
  return {
    name: spec.name,
    Image: spec.image,
    Labels: spec.labels,
    Cmd: spec.command,
    Entrypoint: spec.entryPoint,
    Env: spec.env ? Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) : undefined,
    WorkingDir: spec.workingDirectory,
    User: spec.user,
    Hostname: joined ? undefined : spec.hostname,
    ExposedPorts: publishes ? exposed : undefined,
    StopTimeout: spec.stopTimeoutSeconds,
    OpenStdin: spec.interactive || undefined,
    Tty: spec.tty || undefined,
    Healthcheck: hc
      ? dockerHealthConfig({ command: hc.test, interval: hc.intervalSeconds, timeout: hc.timeoutSeconds, retries: hc.retries, startPeriod: hc.startPeriodSeconds })
      : undefined,
    HostConfig: {
      NetworkMode: spec.networkName && spec.networkMode === "bridge" ? spec.networkName : spec.networkMode,
      PortBindings: publishes ? bindings : undefined,
      Memory: spec.memoryMiB ? spec.memoryMiB * MiB : undefined,
      MemoryReservation: spec.memoryReservationMiB ? spec.memoryReservationMiB * MiB : undefined,
      MemorySwap: spec.memorySwapMiB !== undefined ? spec.memorySwapMiB * MiB : undefined,
      MemorySwappiness: spec.swappiness,
      CpuShares: spec.cpuShares || undefined,
      Ulimits: spec.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      Init: spec.init || undefined,
      CapAdd: spec.capAdd,
      CapDrop: spec.capDrop,
      Devices: spec.devices?.map((d) => ({ PathOnHost: d.hostPath, PathInContainer: d.containerPath, CgroupPermissions: d.permissions })),
      DeviceRequests: spec.deviceRequests?.map((r) => ({ Driver: r.driver, DeviceIDs: r.deviceIds, Capabilities: r.capabilities })),
      ReadonlyRootfs: spec.readonlyRootfs || undefined,
      Privileged: spec.privileged || undefined,
      Dns: joined ? undefined : spec.dnsServers,
      DnsSearch: joined ? undefined : spec.dnsSearchDomains,
      ExtraHosts: joined ? undefined : spec.extraHosts,
      // Binds (not Mounts) because Docker creates a missing host directory for a bind, as ECS does.
      Binds: spec.mounts?.map((m) => `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`),
      VolumesFrom: spec.volumesFrom,
      ShmSize: spec.shmSizeMiB ? spec.shmSizeMiB * MiB : undefined,
      Tmpfs: spec.tmpfs,
      Sysctls: spec.sysctls,
      PidMode: spec.pidMode,
      IpcMode: spec.ipcMode,
      CgroupParent: spec.cgroupParent,
      LogConfig: spec.logConfig ? { Type: spec.logConfig.type, Config: spec.logConfig.options ?? {} } : undefined,
      Links: spec.links,
      SecurityOpt: spec.securityOpt,
    },
  };
}

/** Health from `docker ps` status text: "Up 5 seconds (healthy)", "(unhealthy)", "(health: starting)". */
export function healthFromStatus(status: string): RuntimeContainer["health"] {
  if (status.includes("(healthy)")) return "healthy";
  if (status.includes("(unhealthy)")) return "unhealthy";
  if (status.includes("(health: starting)")) return "starting";
  return undefined;
}
