import {
  FIRELENS_OPTIONS,
  IPC_SYSCTLS,
  LOCAL_LOG_DRIVERS,
  LOG_DRIVER_OPTIONS,
  RESERVED_LABEL_PREFIX,
  type LocalLogDriver,
  type LogDriver,
  type NetworkMode,
} from "./constants.ts";
import { describeFargateMemory, fargateMemoryOptions } from "./fargate.ts";
import { isDockerSize } from "./formats.ts";
import { formatPath } from "./issues.ts";
import { hostPortOf, networkModeOf } from "./network.ts";
import { findDependencyCycle } from "./order.ts";
import type { ContainerDefinition, TaskDefinitionSpec } from "./schema.ts";

/**
 * Cross-field rules of a task definition, applied after the shape is valid. Each problem carries a
 * path (relative to the object checked) and one readable sentence.
 */

export interface Problem {
  path: (string | number)[];
  message: string;
}

const q = (s: string) => JSON.stringify(s);

// ---------------------------------------------------------------------------------------------
// Parts checked inside their own schemas

/** Problem with a healthCheck.command, or null when it is fine. */
export function healthCheckCommandProblem(command: readonly string[]): string | null {
  const [kind, ...rest] = command;
  if (kind === "NONE") {
    return rest.length === 0 ? null : 'command ["NONE"] disables the image\'s health check and takes no other entries.';
  }
  if (kind === "CMD") {
    return rest.length > 0 && rest[0] !== ""
      ? null
      : 'command must name the program to run after "CMD", e.g. ["CMD", "curl", "-f", "http://localhost/"].';
  }
  if (kind === "CMD-SHELL") {
    return rest.length === 1 && rest[0]?.trim()
      ? null
      : 'command must be "CMD-SHELL" followed by one shell command line, e.g. ["CMD-SHELL", "curl -f http://localhost/ || exit 1"].';
  }
  return `command must start with "CMD", "CMD-SHELL" or "NONE", not ${q(String(kind))}.`;
}

const isLocalLogDriver = (d: LogDriver): d is LocalLogDriver => (LOCAL_LOG_DRIVERS as readonly string[]).includes(d);

/**
 * Unknown or malformed options for a local log driver (json-file, local), which also take no secrets.
 * Other drivers' options are kept as written and checked by Docker, as in ECS; awsfirelens options
 * are Fluent Bit / Fluentd output settings.
 */
export function logConfigurationProblems(lc: {
  logDriver: LogDriver;
  options?: Record<string, string> | undefined;
  secretOptions?: ReadonlyArray<{ name: string }> | undefined;
}): Problem[] {
  const out: Problem[] = [];
  const secretNames = new Set<string>();
  (lc.secretOptions ?? []).forEach((so, j) => {
    if (secretNames.has(so.name)) out.push({ path: ["secretOptions", j, "name"], message: `name ${q(so.name)} is listed more than once in secretOptions.` });
    else if (lc.options?.[so.name] !== undefined) {
      out.push({ path: ["secretOptions", j, "name"], message: `name ${q(so.name)} is already set in options; give each log option one value.` });
    }
    secretNames.add(so.name);
  });
  if (!isLocalLogDriver(lc.logDriver)) return out;
  if ((lc.secretOptions?.length ?? 0) > 0) {
    out.push({ path: ["secretOptions"], message: `secretOptions must be empty for the ${lc.logDriver} log driver; it writes to the host's disk and takes no secrets.` });
  }
  const allowed = LOG_DRIVER_OPTIONS[lc.logDriver];
  for (const [key, value] of Object.entries(lc.options ?? {})) {
    const path = ["options", key];
    if (!allowed.includes(key)) {
      out.push({ path, message: `${q(key)} is not an option of the ${lc.logDriver} log driver; it accepts ${allowed.join(", ")}.` });
    } else if ((key === "max-size" || key === "max-buffer-size") && !isDockerSize(value)) {
      out.push({ path, message: `${key} must be a size such as "10m" or "1g", not ${q(value)}.` });
    } else if (key === "max-file" && !(/^\d+$/.test(value) && Number(value) >= 1)) {
      out.push({ path, message: `max-file must be a whole number of at least 1, such as "3", not ${q(value)}.` });
    } else if (key === "compress" && value !== "true" && value !== "false") {
      out.push({ path, message: `compress must be "true" or "false", not ${q(value)}.` });
    } else if (key === "mode" && value !== "blocking" && value !== "non-blocking") {
      out.push({ path, message: `mode must be "blocking" or "non-blocking", not ${q(value)}.` });
    }
  }
  return out;
}

/** firelensConfiguration.options as ECS defines them. */
export function firelensConfigurationProblems(fc: { options?: Record<string, string> | undefined }): Problem[] {
  const out: Problem[] = [];
  const options = fc.options ?? {};
  for (const [key, value] of Object.entries(options)) {
    const path = ["options", key];
    if (!(FIRELENS_OPTIONS as readonly string[]).includes(key)) {
      out.push({ path, message: `${q(key)} is not a firelensConfiguration option; ECS defines ${FIRELENS_OPTIONS.join(", ")}, and output settings go in the app containers' awsfirelens logConfiguration.options.` });
    } else if (key === "enable-ecs-log-metadata" && value !== "true" && value !== "false") {
      out.push({ path, message: `enable-ecs-log-metadata must be "true" or "false", not ${q(value)}.` });
    } else if (key === "config-file-type" && value !== "s3" && value !== "file") {
      out.push({ path, message: `config-file-type must be "s3" or "file", not ${q(value)}.` });
    }
  }
  const hasType = options["config-file-type"] !== undefined;
  const hasValue = options["config-file-value"] !== undefined;
  if (hasType && !hasValue) out.push({ path: ["options"], message: "config-file-type needs config-file-value, the file's path or S3 ARN." });
  if (hasValue && !hasType) out.push({ path: ["options"], message: 'config-file-value needs config-file-type ("file" or "s3").' });
  return out;
}

/** Docker security options a task definition may name; the cluster policy decides on all but no-new-privileges. */
export const GATED_SECURITY_OPTION_KINDS = ["apparmor", "seccomp", "label"] as const;

/** `no-new-privileges` (optionally `:true`) only tightens the container, so it needs no policy. */
export function isNoNewPrivileges(opt: string): boolean {
  return /^no-new-privileges(?:[:=]true)?$/.test(opt);
}

/** Problem with one dockerSecurityOptions entry, or null. */
export function securityOptionProblem(opt: string): string | null {
  if (isNoNewPrivileges(opt)) return null;
  const m = /^([a-z-]+)[:=](.+)$/.exec(opt);
  if (m && (GATED_SECURITY_OPTION_KINDS as readonly string[]).includes(m[1]!)) return null;
  if (m?.[1] === "credentialspec") return "credentialspec options are for Windows containers (gMSA); Windows containers are not supported.";
  return `${q(opt)} is not a security option Flotilla accepts; use "no-new-privileges", "apparmor:PROFILE", "seccomp:PROFILE" or "label:VALUE".`;
}

function isIpcSysctl(namespace: string): boolean {
  return (IPC_SYSCTLS as readonly string[]).includes(namespace) || namespace.startsWith("fs.mqueue.");
}

/** Rules within one container definition; paths are relative to the container. */
export function containerProblems(c: ContainerDefinition): Problem[] {
  const out: Problem[] = [];

  if (c.memory !== undefined && c.memoryReservation !== undefined && c.memoryReservation > c.memory) {
    out.push({
      path: ["memoryReservation"],
      message: `memoryReservation (${c.memoryReservation} MiB) must not be greater than memory, the hard limit (${c.memory} MiB).`,
    });
  }

  const envSeen = new Map<string, string>();
  const checkEnv = (list: ReadonlyArray<{ name: string }> | undefined, field: "environment" | "secrets") => {
    (list ?? []).forEach((e, j) => {
      const where = `${field}[${j}]`;
      const first = envSeen.get(e.name);
      if (first) out.push({ path: [field, j, "name"], message: `name ${q(e.name)} is already defined in ${first}.` });
      else envSeen.set(e.name, where);
    });
  };
  checkEnv(c.environment, "environment");
  checkEnv(c.secrets, "secrets");

  for (const key of Object.keys(c.dockerLabels ?? {})) {
    if (key.startsWith(RESERVED_LABEL_PREFIX)) {
      out.push({
        path: ["dockerLabels", key],
        message: `dockerLabels must not use the reserved prefix ${q(RESERVED_LABEL_PREFIX)} (${q(key)}); the agent sets those labels itself.`,
      });
    }
  }

  const ulimitSeen = new Set<string>();
  (c.ulimits ?? []).forEach((u, j) => {
    if (ulimitSeen.has(u.name)) out.push({ path: ["ulimits", j, "name"], message: `ulimit ${q(u.name)} is listed more than once.` });
    ulimitSeen.add(u.name);
    const soft = u.softLimit === -1 ? Infinity : u.softLimit;
    const hard = u.hardLimit === -1 ? Infinity : u.hardLimit;
    if (soft > hard) {
      out.push({ path: ["ulimits", j, "softLimit"], message: `softLimit (${u.softLimit}) must not be greater than hardLimit (${u.hardLimit}).` });
    }
  });

  const pathSeen = new Map<string, string>();
  const checkPath = (containerPath: string, path: (string | number)[]) => {
    const normal = containerPath.length > 1 ? containerPath.replace(/\/+$/, "") : containerPath;
    const first = pathSeen.get(normal);
    if (first) out.push({ path, message: `containerPath ${q(containerPath)} is already mounted by ${first}.` });
    else pathSeen.set(normal, formatPath(path.slice(0, -1)));
  };
  (c.mountPoints ?? []).forEach((m, j) => checkPath(m.containerPath, ["mountPoints", j, "containerPath"]));
  (c.linuxParameters?.tmpfs ?? []).forEach((t, j) => checkPath(t.containerPath, ["linuxParameters", "tmpfs", j, "containerPath"]));

  if (c.linuxParameters?.maxSwap !== undefined && c.memory === undefined) {
    out.push({ path: ["linuxParameters", "maxSwap"], message: "maxSwap needs the container's memory (hard limit) to be set." });
  }

  const resourceTypes = new Set<string>();
  (c.resourceRequirements ?? []).forEach((rr, j) => {
    if (resourceTypes.has(rr.type)) out.push({ path: ["resourceRequirements", j, "type"], message: `type ${q(rr.type)} is listed more than once in resourceRequirements.` });
    resourceTypes.add(rr.type);
  });

  const sysctlSeen = new Set<string>();
  (c.systemControls ?? []).forEach((sc, j) => {
    const path = ["systemControls", j, "namespace"];
    if (!isIpcSysctl(sc.namespace) && !sc.namespace.startsWith("net.")) {
      out.push({
        path,
        message: `namespace ${q(sc.namespace)} is not a namespaced sysctl Docker allows; use net.*, fs.mqueue.* or one of ${IPC_SYSCTLS.join(", ")}.`,
      });
    } else if (sysctlSeen.has(sc.namespace)) {
      out.push({ path, message: `namespace ${q(sc.namespace)} is set more than once.` });
    }
    sysctlSeen.add(sc.namespace);
  });

  return out;
}

// ---------------------------------------------------------------------------------------------
// Task-wide rules

export function taskProblems(td: TaskDefinitionSpec): Problem[] {
  const out: Problem[] = [];
  const mode = networkModeOf(td);
  const containers = td.containerDefinitions;
  const cpath = (i: number, ...rest: (string | number)[]) => ["containerDefinitions", i, ...rest];

  // Names.
  const byName = new Map<string, { c: ContainerDefinition; i: number }>();
  containers.forEach((c, i) => {
    if (byName.has(c.name)) out.push({ path: cpath(i, "name"), message: `name ${q(c.name)} is already used by another container in this task definition.` });
    else byName.set(c.name, { c, i });
  });

  // Essential and memory.
  if (!containers.some((c) => c.essential)) {
    out.push({ path: ["containerDefinitions"], message: "containerDefinitions must include at least one essential container." });
  }
  containers.forEach((c, i) => {
    if (td.memory === undefined && c.memory === undefined && c.memoryReservation === undefined) {
      out.push({ path: cpath(i, "memory"), message: "memory or memoryReservation is required for each container when the task has no memory." });
    }
  });
  if (td.memory !== undefined) {
    const sum = containers.reduce((acc, c) => acc + (c.memory ?? c.memoryReservation ?? 0), 0);
    if (sum > td.memory) {
      out.push({ path: ["memory"], message: `memory (${td.memory} MiB) is less than the ${sum} MiB its containers ask for together.` });
    }
  }
  if (td.cpu !== undefined) {
    const sum = containers.reduce((acc, c) => acc + (c.cpu ?? 0), 0);
    if (sum > td.cpu) out.push({ path: ["cpu"], message: `cpu (${td.cpu} units) is less than the ${sum} units its containers ask for together.` });
  }

  // Fargate sizes.
  if (td.requiresCompatibilities?.includes("FARGATE")) {
    if (td.cpu === undefined) out.push({ path: ["cpu"], message: "cpu is required when requiresCompatibilities includes FARGATE." });
    if (td.memory === undefined) out.push({ path: ["memory"], message: "memory is required when requiresCompatibilities includes FARGATE." });
    if (td.cpu !== undefined) {
      const options = fargateMemoryOptions(td.cpu);
      if (!options) {
        out.push({
          path: ["cpu"],
          message: `cpu ${td.cpu} is not a Fargate size; FARGATE takes 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units (0.25 to 16 vCPU).`,
        });
      } else if (td.memory !== undefined && !options.includes(td.memory)) {
        out.push({
          path: ["memory"],
          message: `memory ${td.memory} MiB does not fit cpu ${td.cpu} on FARGATE; with cpu ${td.cpu} memory must be ${describeFargateMemory(options)} MiB.`,
        });
      }
    }
  }

  // Volumes.
  const volumeNames = new Set<string>();
  (td.volumes ?? []).forEach((v, k) => {
    if (volumeNames.has(v.name)) out.push({ path: ["volumes", k, "name"], message: `name ${q(v.name)} is already used by another volume.` });
    volumeNames.add(v.name);
  });

  containers.forEach((c, i) => {
    (c.mountPoints ?? []).forEach((m, j) => {
      if (!volumeNames.has(m.sourceVolume)) {
        out.push({
          path: cpath(i, "mountPoints", j, "sourceVolume"),
          message: `sourceVolume ${q(m.sourceVolume)} does not name a volume in this task definition's volumes.`,
        });
      }
    });
    (c.volumesFrom ?? []).forEach((v, j) => {
      const path = cpath(i, "volumesFrom", j, "sourceContainer");
      if (v.sourceContainer === c.name) out.push({ path, message: `sourceContainer ${q(v.sourceContainer)} is this container itself.` });
      else if (!byName.has(v.sourceContainer)) {
        out.push({ path, message: `sourceContainer ${q(v.sourceContainer)} does not name a container in this task definition.` });
      }
    });
  });

  // Links, as ECS: bridge networks only, to another container of this task.
  containers.forEach((c, i) => {
    if ((c.links?.length ?? 0) === 0) return;
    if (mode !== "bridge") {
      out.push({
        path: cpath(i, "links"),
        message: `links are only supported in networkMode "bridge", as in ECS, not ${q(mode)}${mode === "awsvpc" ? "; the task's containers reach each other on localhost" : ""}.`,
      });
      return;
    }
    (c.links ?? []).forEach((l, j) => {
      const target = l.split(":")[0] ?? "";
      if (target === c.name) out.push({ path: cpath(i, "links", j), message: `link ${q(l)} names this container itself.` });
      else if (!byName.has(target)) out.push({ path: cpath(i, "links", j), message: `link ${q(l)} does not name a container in this task definition.` });
    });
  });

  // FireLens, as ECS: one log router per task, and awsfirelens needs it.
  const routers = containers.map((c, i) => ({ c, i })).filter(({ c }) => c.firelensConfiguration !== undefined);
  routers.slice(1).forEach(({ i }) => {
    out.push({
      path: cpath(i, "firelensConfiguration"),
      message: `firelensConfiguration is already set on container ${q(routers[0]!.c.name)}; a task definition has at most one FireLens log router.`,
    });
  });
  if (routers.length === 0) {
    containers.forEach((c, i) => {
      if (c.logConfiguration?.logDriver === "awsfirelens") {
        out.push({
          path: cpath(i, "logConfiguration", "logDriver"),
          message: 'logDriver "awsfirelens" needs a log router: a container in this task definition with firelensConfiguration.',
        });
      }
    });
  }

  // Dependencies.
  containers.forEach((c, i) => {
    const seen = new Set<string>();
    (c.dependsOn ?? []).forEach((d, j) => {
      const namePath = cpath(i, "dependsOn", j, "containerName");
      const target = byName.get(d.containerName)?.c;
      if (d.containerName === c.name) {
        out.push({ path: namePath, message: `containerName ${q(d.containerName)} is this container itself; a container cannot depend on itself.` });
        return;
      }
      if (!target) {
        out.push({ path: namePath, message: `containerName ${q(d.containerName)} does not name a container in this task definition.` });
        return;
      }
      if (seen.has(d.containerName)) {
        out.push({ path: namePath, message: `containerName ${q(d.containerName)} appears more than once in dependsOn.` });
        return;
      }
      seen.add(d.containerName);
      const condPath = cpath(i, "dependsOn", j, "condition");
      if (d.condition === "HEALTHY" && (!target.healthCheck || target.healthCheck.command[0] === "NONE")) {
        out.push({ path: condPath, message: `condition "HEALTHY" needs container ${q(target.name)} to have a healthCheck.` });
      }
      if ((d.condition === "COMPLETE" || d.condition === "SUCCESS") && target.essential) {
        out.push({
          path: condPath,
          message: `condition ${q(d.condition)} cannot wait for container ${q(target.name)} because it is essential; set its essential to false, or use START or HEALTHY.`,
        });
      }
    });
  });
  const cycle = findDependencyCycle(td);
  if (cycle) {
    const [from, to] = cycle;
    const entry = from === undefined ? undefined : byName.get(from);
    const depIdx = entry?.c.dependsOn?.findIndex((d) => d.containerName === to) ?? -1;
    const volIdx = entry?.c.volumesFrom?.findIndex((v) => v.sourceContainer === to) ?? -1;
    const linkIdx = entry?.c.links?.findIndex((l) => l.split(":")[0] === to) ?? -1;
    const path = !entry
      ? ["containerDefinitions"]
      : depIdx >= 0
        ? cpath(entry.i, "dependsOn", depIdx, "containerName")
        : volIdx >= 0
          ? cpath(entry.i, "volumesFrom", volIdx, "sourceContainer")
          : cpath(entry.i, "links", Math.max(linkIdx, 0));
    out.push({ path, message: `Container dependencies form a cycle (${cycle.join(" → ")}), so these containers could never start.` });
  }

  // Ports.
  const portOwner = new Map<string, string>();
  const portNameOwner = new Map<string, string>();
  containers.forEach((c, i) => {
    if (mode === "none" && (c.portMappings?.length ?? 0) > 0) {
      out.push({ path: cpath(i, "portMappings"), message: 'portMappings must be empty in networkMode "none"; the containers have no network.' });
      return;
    }
    (c.portMappings ?? []).forEach((pm, j) => {
      const here = cpath(i, "portMappings", j);
      if ((mode === "host" || mode === "awsvpc") && pm.hostPort !== undefined && pm.hostPort !== pm.containerPort) {
        out.push({
          path: [...here, "hostPort"],
          message: `hostPort must be absent or equal to containerPort (${pm.containerPort}) in networkMode ${q(mode)}.`,
        });
        return;
      }
      const hostPort = hostPortOf(mode, pm);
      if (hostPort > 0) {
        const key = `${pm.protocol}/${hostPort}`;
        const first = portOwner.get(key);
        const field = pm.hostPort === undefined ? "containerPort" : "hostPort";
        if (first) out.push({ path: [...here, field], message: `${pm.protocol} host port ${hostPort} is already used by ${first}.` });
        else portOwner.set(key, formatPath(here));
      }
      if (pm.name !== undefined) {
        const first = portNameOwner.get(pm.name);
        if (first) out.push({ path: [...here, "name"], message: `name ${q(pm.name)} is already used by ${first}.` });
        else portNameOwner.set(pm.name, formatPath(here));
      }
    });
  });

  // Per network mode, as ECS.
  containers.forEach((c, i) => {
    if (c.hostname !== undefined && (mode === "awsvpc" || mode === "host")) {
      out.push({
        path: cpath(i, "hostname"),
        message: `hostname is not allowed in networkMode ${q(mode)}; ${mode === "host" ? "the containers use the host's name" : "the task's containers share one network namespace"}.`,
      });
    }
    if (mode === "awsvpc") {
      for (const field of ["dnsServers", "dnsSearchDomains", "extraHosts"] as const) {
        if (c[field] !== undefined) {
          out.push({ path: cpath(i, field), message: `${field} is not allowed in networkMode "awsvpc", as in ECS; the task's containers share one network namespace.` });
        }
      }
    }
    (c.systemControls ?? []).forEach((sc, j) => {
      const path = cpath(i, "systemControls", j, "namespace");
      if (mode === "host" && sc.namespace.startsWith("net.")) {
        out.push({ path, message: `namespace ${q(sc.namespace)} cannot be set in networkMode "host"; it would change the host's network settings.` });
      }
      if (td.ipcMode === "host" && isIpcSysctl(sc.namespace)) {
        out.push({ path, message: `namespace ${q(sc.namespace)} cannot be set with ipcMode "host"; it would change the host's IPC settings.` });
      }
    });
  });

  return out;
}

/** Output normalisation that needs the whole task: host/awsvpc port mappings get hostPort = containerPort. */
export function normaliseTaskDefinition(td: TaskDefinitionSpec): TaskDefinitionSpec {
  const mode: NetworkMode = networkModeOf(td);
  if (mode === "host" || mode === "awsvpc") {
    for (const c of td.containerDefinitions) for (const pm of c.portMappings ?? []) pm.hostPort = pm.containerPort;
  }
  return td;
}
