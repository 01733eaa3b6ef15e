import { z } from "zod";
import {
  COMPATIBILITIES,
  DEFAULT_RESTART_ATTEMPT_PERIOD,
  FIRELENS_TYPES,
  DEPENDENCY_CONDITIONS,
  DEVICE_PERMISSIONS,
  HEALTH_CHECK_DEFAULTS,
  LINUX_CAPABILITIES,
  LOG_DRIVERS,
  MAX_CONTAINERS,
  NETWORK_MODES,
  TMPFS_MOUNT_OPTIONS,
  ULIMIT_NAMES,
} from "./constants.ts";
import { isCleanAbsolutePath, isHostname, isImageReference, isIpAddress } from "./formats.ts";
import { says, shown } from "./issues.ts";
import {
  containerProblems,
  firelensConfigurationProblems,
  healthCheckCommandProblem,
  logConfigurationProblems,
  normaliseTaskDefinition,
  securityOptionProblem,
  taskProblems,
} from "./rules.ts";
import { parseCpuUnits, parseMemoryMiB, parseWholeNumber } from "./units.ts";

/**
 * ECS task definition as users write it (RegisterTaskDefinition field names and shapes). ECS accepts
 * numbers or numeric strings for cpu and memory ("256", and at task level "1 vCPU", "2 GB"), so inputs
 * are normalised to numbers here once and every other part of Flotilla sees plain numbers.
 *
 * Every object is strict: an unknown field is an error naming the field. Cross-field rules (memory
 * sums, Fargate sizes, dependsOn, ports per network mode, ...) live in rules.ts and run as refinements
 * of `taskDefinitionSchema`, so parsing with the schema alone is already the complete check;
 * `parseTaskDefinition` adds readable messages and per-field unknown-field issues.
 */

// ---------------------------------------------------------------------------------------------
// Building blocks

const MAX_INT32 = 2_147_483_647;
/** ECS's API integers are 32-bit; that is the only ceiling on memory (MiB) and container cpu. */
const MAX_MEMORY_MIB = MAX_INT32;
/** ECS's largest task cpu for EC2/EXTERNAL (192 vCPU). */
const MAX_TASK_CPU_UNITS = 196_608;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Cross-field refinements run only on data that passed every other check, so they never add noise. */
const whenClean = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

function numeric(field: string, accepted: string, parse: (v: unknown) => number | null, min: number, max: number, unit = "") {
  return z
    .union([z.number(), z.string()], { error: (iss) => `${field} must be ${accepted}, not ${shown(iss.input)}.` })
    .transform((v, ctx) => {
      const n = parse(v);
      if (n === null) {
        ctx.issues.push({ code: "custom", input: v, message: `${field} must be ${accepted}, not ${shown(v)}.` });
        return z.NEVER;
      }
      if (n < min || n > max) {
        ctx.issues.push({ code: "custom", input: v, message: `${field} must be between ${min} and ${max}${unit}, not ${n}.` });
        return z.NEVER;
      }
      return n;
    });
}

const containerCpu = numeric("cpu", "a whole number of CPU units (1024 = 1 vCPU) or a numeric string", parseWholeNumber, 0, MAX_INT32);
const containerMemory = (field: string) =>
  numeric(field, "a whole number of MiB or a numeric string", parseWholeNumber, 6, MAX_MEMORY_MIB, " MiB");
const taskCpu = numeric("cpu", 'CPU units (256, "256") or vCPUs ("1 vCPU", "0.5 vCPU")', parseCpuUnits, 128, MAX_TASK_CPU_UNITS);
const taskMemory = numeric("memory", 'MiB (512, "512", "512 MiB") or GB ("2 GB", "2GB")', parseMemoryMiB, 6, MAX_MEMORY_MIB, " MiB");

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}$/, { error: says((s) => `${s} must be 1 to 255 letters, digits, hyphens or underscores.`) });

const absolutePath = z
  .string()
  .refine(isCleanAbsolutePath, { error: says((s) => `${s} must be an absolute path such as /data, without ".", ".." or ":" in it.`) });

const ipAddress = z.string().refine(isIpAddress, { error: says((s) => `${s} must be an IPv4 or IPv6 address.`) });
const hostname = z.string().refine(isHostname, { error: says((s) => `${s} must be a host name of letters, digits, hyphens and dots.`) });

const envName = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !s.includes("=") && !s.includes("\u0000"), { error: says((s) => `${s} must not contain "=" or NUL characters.`) });

const stringMap = z.record(z.string(), z.string());

// ---------------------------------------------------------------------------------------------
// Container definition parts

const keyValue = z.strictObject({
  name: envName,
  value: z.string().refine((s) => !s.includes("\u0000"), { error: says((s) => `${s} must not contain NUL characters.`) }),
});

const secret = z.strictObject({
  name: envName,
  valueFrom: z.string().min(1).max(2048),
});

const portMapping = z.strictObject({
  containerPort: int(1, 65535),
  /** Bridge: 0 or absent = dynamic host port. Host/awsvpc: absent or equal to containerPort (filled in on output). */
  hostPort: int(0, 65535).optional(),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
  name: z
    .string()
    .regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/, {
      error: says((s) => `${s} must be 1 to 64 lowercase letters, digits, underscores or hyphens, not starting with a hyphen.`),
    })
    .optional(),
  appProtocol: z.enum(["http", "http2", "grpc"]).optional(),
});

const ulimit = z.strictObject({
  name: z.enum(ULIMIT_NAMES),
  /** -1 means unlimited. */
  softLimit: int(-1, MAX_INT32),
  hardLimit: int(-1, MAX_INT32),
});

const capability = z.enum(LINUX_CAPABILITIES, {
  error: (iss) =>
    iss.code === "invalid_value" && iss.input !== undefined
      ? `${shown(iss.input)} is not a Linux capability ECS knows; write names like "NET_ADMIN" or "SYS_PTRACE" without the CAP_ prefix.`
      : undefined,
});

const tmpfsMountOption = z.string().refine(
  (s) => (TMPFS_MOUNT_OPTIONS as readonly string[]).includes(s.split("=")[0] ?? ""),
  { error: says((s) => `${s} is not a tmpfs mount option ECS accepts (such as "noexec", "nosuid" or "mode=1777").`) },
);

const linuxParameters = z.strictObject({
  initProcessEnabled: z.boolean().optional(),
  capabilities: z.strictObject({ add: z.array(capability).optional(), drop: z.array(capability).optional() }).optional(),
  devices: z
    .array(
      z.strictObject({
        hostPath: absolutePath,
        containerPath: absolutePath.optional(),
        permissions: z.array(z.enum(DEVICE_PERMISSIONS)).optional(),
      }),
    )
    .optional(),
  /** MiB, Docker's --shm-size. */
  sharedMemorySize: int(1, MAX_MEMORY_MIB).optional(),
  tmpfs: z
    .array(
      z.strictObject({
        containerPath: absolutePath,
        /** MiB. */
        size: int(1, MAX_MEMORY_MIB),
        mountOptions: z.array(tmpfsMountOption).optional(),
      }),
    )
    .optional(),
  /** MiB of swap in addition to `memory`; needs the container's `memory`. */
  maxSwap: int(0, MAX_MEMORY_MIB).optional(),
  swappiness: int(0, 100).optional(),
});

const healthCheck = z
  .strictObject({
    /** ["CMD", exe, ...args] | ["CMD-SHELL", "shell command"] | ["NONE"] */
    command: z.array(z.string()).min(1),
    interval: int(5, 300).default(HEALTH_CHECK_DEFAULTS.interval),
    timeout: int(2, 60).default(HEALTH_CHECK_DEFAULTS.timeout),
    retries: int(1, 10).default(HEALTH_CHECK_DEFAULTS.retries),
    startPeriod: int(0, 300).optional(),
  })
  .superRefine((hc, ctx) => {
    const problem = healthCheckCommandProblem(hc.command);
    if (problem) ctx.addIssue({ code: "custom", path: ["command"], message: problem });
  }, whenClean);

const dependency = z.strictObject({
  containerName: z.string().min(1),
  condition: z.enum(DEPENDENCY_CONDITIONS),
});

const mountPoint = z.strictObject({
  sourceVolume: z.string().min(1),
  containerPath: absolutePath,
  readOnly: z.boolean().optional(),
});

const volumeFrom = z.strictObject({
  sourceContainer: z.string().min(1),
  readOnly: z.boolean().optional(),
});

const logConfiguration = z
  .strictObject({
    logDriver: z.enum(LOG_DRIVERS, {
      error: (iss) =>
        iss.code === "invalid_value" && iss.input !== undefined
          ? `logDriver ${shown(iss.input)} is not a log driver ECS knows; use one of ${LOG_DRIVERS.map((d) => JSON.stringify(d)).join(", ")}.`
          : undefined,
    }),
    /** Kept as written; ECS placeholders such as `$(ecs_task_id)` in awsfirelens options stay as they are. */
    options: stringMap.optional(),
    /** Log options whose values come from Flotilla secrets (valueFrom), as container `secrets`. */
    secretOptions: z.array(secret).optional(),
  })
  .superRefine((lc, ctx) => {
    for (const p of logConfigurationProblems(lc)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
  }, whenClean);

/** FireLens log router settings (ECS's FirelensConfiguration). */
const firelensConfiguration = z
  .strictObject({
    type: z.enum(FIRELENS_TYPES),
    options: stringMap.optional(),
  })
  .superRefine((fc, ctx) => {
    for (const p of firelensConfigurationProblems(fc)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
  }, whenClean);

/** ECS's ResourceRequirement; GPU counts only (Elastic Inference does not exist off AWS). */
const resourceRequirement = z
  .strictObject({
    type: z.enum(["GPU", "InferenceAccelerator"]),
    value: z.string(),
  })
  .superRefine((rr, ctx) => {
    if (rr.type === "InferenceAccelerator") {
      ctx.addIssue({
        code: "custom",
        path: ["type"],
        message: 'type "InferenceAccelerator" needs Amazon Elastic Inference, which is not available on Flotilla hosts; only "GPU" is supported.',
      });
    } else if (!/^[1-9]\d{0,3}$/.test(rr.value)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `value must be the number of GPUs as a whole number string such as "1", not ${shown(rr.value)}.` });
    }
  }, whenClean);

/** A link is `name` or `name:alias` (ECS: up to 255 letters, digits, underscores and hyphens each). */
const link = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}(?::[A-Za-z0-9_-]{1,255})?$/, {
    error: says((s) => `${s} must be a container name, or name:alias, of letters, digits, hyphens or underscores.`),
  });

const securityOption = z.string().superRefine((opt, ctx) => {
  const problem = securityOptionProblem(opt);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const restartPolicy = z.strictObject({
  enabled: z.boolean(),
  ignoredExitCodes: z.array(int(0, 255)).max(50).default([]),
  restartAttemptPeriod: int(60, 1800).default(DEFAULT_RESTART_ATTEMPT_PERIOD),
});

const systemControl = z.strictObject({
  namespace: z.string().min(1),
  value: z.string(),
});

// ---------------------------------------------------------------------------------------------
// Container definition

const containerDefinitionObject = z.strictObject({
  name: identifier,
  image: z
    .string()
    .min(1)
    .max(1024)
    .refine(isImageReference, {
      error: says(
        (s) =>
          `${s} must be a Docker image reference such as "nginx", "nginx:1.27" or "registry.example.com/team/app@sha256:…", with a lowercase repository name.`,
      ),
    }),
  repositoryCredentials: z.strictObject({ credentialsParameter: z.string().min(1).max(2048) }).optional(),
  cpu: containerCpu.optional(),
  /** Hard limit, MiB. */
  memory: containerMemory("memory").optional(),
  /** Soft limit, MiB; what placement reserves when given. */
  memoryReservation: containerMemory("memoryReservation").optional(),
  essential: z.boolean().default(true),
  command: z.array(z.string()).optional(),
  entryPoint: z.array(z.string()).optional(),
  environment: z.array(keyValue).optional(),
  secrets: z.array(secret).optional(),
  portMappings: z.array(portMapping).optional(),
  workingDirectory: z.string().refine((s) => s.startsWith("/"), { error: says((s) => `${s} must be an absolute path.`) }).optional(),
  user: z
    .string()
    .regex(/^[^\s:]+(?::[^\s:]+)?$/, { error: says((s) => `${s} must be a user, uid, user:group or uid:gid.`) })
    .optional(),
  hostname: z.string().max(64).pipe(hostname).optional(),
  dockerLabels: stringMap.optional(),
  ulimits: z.array(ulimit).optional(),
  linuxParameters: linuxParameters.optional(),
  readonlyRootFilesystem: z.boolean().optional(),
  privileged: z.boolean().optional(),
  /** Seconds between SIGTERM and SIGKILL; absent = 30 (DEFAULT_STOP_TIMEOUT). */
  stopTimeout: int(2, 120).optional(),
  /** Seconds to wait for this container's dependsOn conditions before giving up on it. */
  startTimeout: int(2, 3600).optional(),
  healthCheck: healthCheck.optional(),
  dependsOn: z.array(dependency).optional(),
  mountPoints: z.array(mountPoint).optional(),
  volumesFrom: z.array(volumeFrom).optional(),
  logConfiguration: logConfiguration.optional(),
  restartPolicy: restartPolicy.optional(),
  interactive: z.boolean().optional(),
  pseudoTerminal: z.boolean().optional(),
  dnsServers: z.array(ipAddress).optional(),
  dnsSearchDomains: z.array(hostname).optional(),
  extraHosts: z.array(z.strictObject({ hostname: hostname, ipAddress: ipAddress })).optional(),
  systemControls: z.array(systemControl).optional(),
  /** Docker links between the task's containers; bridge networks only, as in ECS. */
  links: z.array(link).optional(),
  firelensConfiguration: firelensConfiguration.optional(),
  resourceRequirements: z.array(resourceRequirement).optional(),
  /** no-new-privileges always; apparmor:, seccomp: and label: when the cluster policy allows them. */
  dockerSecurityOptions: z.array(securityOption).optional(),
  // Accepted because ECS users paste it; Flotilla does not resolve image digests (see docs).
  versionConsistency: z.enum(["enabled", "disabled"]).optional(),
});

export type ContainerDefinition = z.output<typeof containerDefinitionObject>;

export const containerDefinitionSchema = containerDefinitionObject.superRefine((c, ctx) => {
  for (const p of containerProblems(c)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
}, whenClean);

// ---------------------------------------------------------------------------------------------
// Task definition parts

const volume = z
  .strictObject({
    name: identifier,
    /** Bind mount of a host path; `host: {}` or no host/dockerVolumeConfiguration = task-scoped empty volume. */
    host: z.strictObject({ sourcePath: absolutePath.optional() }).optional(),
    dockerVolumeConfiguration: z
      .strictObject({
        scope: z.enum(["task", "shared"]).default("task"),
        autoprovision: z.boolean().optional(),
        driver: z.string().min(1).max(255).optional(),
        driverOpts: stringMap.optional(),
        labels: stringMap.optional(),
      })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.host && v.dockerVolumeConfiguration) {
      ctx.addIssue({
        code: "custom",
        path: ["dockerVolumeConfiguration"],
        message: "A volume takes either host or dockerVolumeConfiguration, not both.",
      });
    }
    if (v.dockerVolumeConfiguration?.autoprovision && v.dockerVolumeConfiguration.scope !== "shared") {
      ctx.addIssue({
        code: "custom",
        path: ["dockerVolumeConfiguration", "autoprovision"],
        message: 'autoprovision can only be true when scope is "shared"; task-scoped volumes are always created with the task.',
      });
    }
  }, whenClean);

const placementConstraint = z.strictObject({
  type: z.enum(["memberOf"], {
    error: (iss) =>
      iss.code === "invalid_value" && iss.input !== undefined
        ? `type must be "memberOf" in a task definition${iss.input === "distinctInstance" ? '; "distinctInstance" applies to services only' : ""}.`
        : undefined,
  }),
  /** ECS cluster query language, e.g. `attribute:ecs.cpu-architecture == arm64`. */
  expression: z.string().min(1).max(2000),
});

const runtimePlatform = z.strictObject({
  cpuArchitecture: z.enum(["X86_64", "ARM64"]).optional(),
  operatingSystemFamily: z
    .enum(["LINUX"], {
      error: (iss) =>
        iss.code === "invalid_value" && iss.input !== undefined
          ? `operatingSystemFamily must be "LINUX"; Flotilla runs Linux containers only, not ${shown(iss.input)}.`
          : undefined,
    })
    .optional(),
});

const tag = z.strictObject({
  key: z.string().min(1).max(128),
  value: z.string().max(256).optional(),
});

// ---------------------------------------------------------------------------------------------
// Task definition

const taskDefinitionObject = z.strictObject({
  family: identifier,
  containerDefinitions: z.array(containerDefinitionSchema).min(1, { error: "At least one container definition is required." }).max(MAX_CONTAINERS, {
    error: `A task definition can have at most ${MAX_CONTAINERS} container definitions.`,
  }),
  /** Absent means bridge (`networkModeOf`). */
  networkMode: z.enum(NETWORK_MODES).optional(),
  requiresCompatibilities: z.array(z.enum(COMPATIBILITIES)).optional(),
  /** CPU units (1024 per vCPU), normalised from numbers, numeric strings and "1 vCPU". */
  cpu: taskCpu.optional(),
  /** MiB, normalised from numbers, numeric strings and "2 GB" / "512 MiB". */
  memory: taskMemory.optional(),
  volumes: z.array(volume).optional(),
  placementConstraints: z.array(placementConstraint).max(10).optional(),
  runtimePlatform: runtimePlatform.optional(),
  pidMode: z.enum(["host", "task"]).optional(),
  ipcMode: z.enum(["host", "task", "none"]).optional(),
  // Accepted because ECS users paste them; Flotilla keeps them with the revision and does not act on
  // them (no IAM, no AWS tagging, no task storage quota, no Elastic Inference). See docs.
  taskRoleArn: z.string().max(2048).optional(),
  executionRoleArn: z.string().max(2048).optional(),
  tags: z.array(tag).max(50).optional(),
  ephemeralStorage: z.strictObject({ sizeInGiB: int(21, 200) }).optional(),
  inferenceAccelerators: z
    .array(z.strictObject({ deviceName: z.string(), deviceType: z.string() }))
    .max(0, { error: "Elastic Inference accelerators are not available on Flotilla hosts; remove inferenceAccelerators or leave it empty." })
    .optional(),
  enableFaultInjection: z.boolean().optional(),
});

export type TaskDefinitionSpec = z.output<typeof taskDefinitionObject>;

/**
 * The complete task definition check: shape, then (only when the shape is valid) the cross-field
 * rules, then normalisation (host/awsvpc port mappings get hostPort = containerPort).
 */
export const taskDefinitionSchema = taskDefinitionObject
  .superRefine((td, ctx) => {
    for (const p of taskProblems(td)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
  }, whenClean)
  .overwrite(normaliseTaskDefinition);

export type PortMapping = z.output<typeof portMapping>;
export type KeyValuePair = z.output<typeof keyValue>;
export type Secret = z.output<typeof secret>;
export type Ulimit = z.output<typeof ulimit>;
export type LinuxParameters = z.output<typeof linuxParameters>;
export type HealthCheck = z.output<typeof healthCheck>;
export type ContainerDependency = z.output<typeof dependency>;
export type MountPoint = z.output<typeof mountPoint>;
export type VolumeFrom = z.output<typeof volumeFrom>;
export type LogConfiguration = z.output<typeof logConfiguration>;
export type RestartPolicy = z.output<typeof restartPolicy>;
export type SystemControl = z.output<typeof systemControl>;
export type Volume = z.output<typeof volume>;
export type PlacementConstraint = z.output<typeof placementConstraint>;
export type FirelensConfiguration = z.output<typeof firelensConfiguration>;
export type ResourceRequirement = z.output<typeof resourceRequirement>;
export type RuntimePlatform = z.output<typeof runtimePlatform>;
