/**
 * Enumerations and defaults of the ECS task definition format as Flotilla accepts it. Kept apart from
 * the zod schemas so the agent and the control service can use them without pulling in zod.
 */

export const NETWORK_MODES = ["bridge", "host", "awsvpc", "none"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
/** ECS's default when `networkMode` is absent (Linux). */
export const DEFAULT_NETWORK_MODE: NetworkMode = "bridge";

export const COMPATIBILITIES = ["EXTERNAL", "EC2", "FARGATE"] as const;
export type Compatibility = (typeof COMPATIBILITIES)[number];

export const DEPENDENCY_CONDITIONS = ["START", "COMPLETE", "SUCCESS", "HEALTHY"] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

/**
 * Log drivers a task definition may name: ECS's LogDriver enum (json-file, syslog, journald, gelf,
 * fluentd, awslogs, splunk, awsfirelens) plus Docker's `local`. The agent keeps every container's
 * log on the host; host-side drivers are passed to Docker as ECS passes them.
 */
export const LOG_DRIVERS = ["json-file", "local", "awslogs", "syslog", "journald", "fluentd", "gelf", "splunk", "awsfirelens"] as const;
export type LogDriver = (typeof LOG_DRIVERS)[number];

/** Drivers that only write to the host's disk; their options are checked here and they take no secrets. */
export const LOCAL_LOG_DRIVERS = ["json-file", "local"] as const;
export type LocalLogDriver = (typeof LOCAL_LOG_DRIVERS)[number];

/** Log driver options Docker accepts, per local driver (`mode` and `max-buffer-size` are common to all drivers). */
export const LOG_DRIVER_OPTIONS: Readonly<Record<LocalLogDriver, readonly string[]>> = {
  "json-file": ["max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode", "max-buffer-size"],
  local: ["max-size", "max-file", "compress", "mode", "max-buffer-size"],
};

/** firelensConfiguration.type values (ECS's FirelensConfigurationType) and the options ECS defines. */
export const FIRELENS_TYPES = ["fluentd", "fluentbit"] as const;
export const FIRELENS_OPTIONS = ["enable-ecs-log-metadata", "config-file-type", "config-file-value"] as const;

/**
 * Fields that only describe-task-definition prints. A body pasted from its output is accepted: these
 * are dropped and each is named in the response's `warnings`.
 */
export const OUTPUT_ONLY_TASK_FIELDS = [
  "taskDefinitionArn",
  "revision",
  "status",
  "requiresAttributes",
  "compatibilities",
  "registeredAt",
  "registeredBy",
  "deregisteredAt",
] as const;

/** ECS's ulimit names (ContainerDefinition.ulimits[].name). */
export const ULIMIT_NAMES = [
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
  "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
] as const;
export type UlimitName = (typeof ULIMIT_NAMES)[number];

/** Linux capabilities as ECS names them in linuxParameters.capabilities (no CAP_ prefix). */
export const LINUX_CAPABILITIES = [
  "ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
  "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN",
  "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP",
  "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
  "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG",
  "WAKE_ALARM",
] as const;
export type LinuxCapability = (typeof LINUX_CAPABILITIES)[number];

export const DEVICE_PERMISSIONS = ["read", "write", "mknod"] as const;

/** tmpfs mount options ECS accepts; the ones that take a value are written `mode=1777`, `uid=1000`, ... */
export const TMPFS_MOUNT_OPTIONS = [
  "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async",
  "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind",
  "rbind", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave",
  "rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid",
  "nr_inodes", "nr_blocks", "mpol",
] as const;

/** Namespaced sysctls Docker (and so ECS systemControls) allows; `net.*` and `fs.mqueue.*` are prefixes. */
export const IPC_SYSCTLS = [
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
  "kernel.shmmni", "kernel.shm_rmid_forced",
] as const;

/** Defaults ECS fills in for healthCheck; the parsed output always carries them. Seconds. */
export const HEALTH_CHECK_DEFAULTS = { interval: 30, timeout: 5, retries: 3 } as const;

/** ECS default for restartPolicy.restartAttemptPeriod, seconds; the parsed output always carries it. */
export const DEFAULT_RESTART_ATTEMPT_PERIOD = 300;

/** Docker's and ECS's default stop timeout when a container has no `stopTimeout`, seconds. */
export const DEFAULT_STOP_TIMEOUT = 30;

/** Container labels with this prefix are set by the agent (flotilla.task-id, ...) and refused in dockerLabels. */
export const RESERVED_LABEL_PREFIX = "flotilla.";

/** ECS allows at most 10 containers in a task definition. */
export const MAX_CONTAINERS = 10;

/**
 * Fields ECS users paste that Flotilla accepts, validates for shape, keeps with the revision, and does
 * not act on. Listed in docs/task-definitions.md.
 */
export const ACCEPTED_BUT_IGNORED_TASK_FIELDS = [
  "taskRoleArn",
  "executionRoleArn",
  "tags",
  "ephemeralStorage",
  "inferenceAccelerators",
  "enableFaultInjection",
] as const;
export const ACCEPTED_BUT_IGNORED_CONTAINER_FIELDS = ["versionConsistency"] as const;

/**
 * Fargate's task cpu → valid task memory (MiB). Checked only when requiresCompatibilities names FARGATE.
 */
export const FARGATE_MEMORY_BY_CPU: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
]);

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}
