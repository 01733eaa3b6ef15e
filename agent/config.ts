import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import type { ImagePullBehavior } from "./runtime/types.ts";
import { parseLogSettings, type LogFormat, type LogLevel } from "../shared/log-settings.ts";
import { parseUpstream } from "./discovery/upstream.ts";

export const AGENT_HELP = `Usage: bun run agent [options]

Runs the Flotilla agent: registers this host with the control service (first start), then runs
the tasks placed on it in the local Docker engine.

Options (environment variable in brackets):
  --control URL[,URL...]     MQTT URL of the control service, e.g. mqtt://10.0.0.5:1883   [FLOTILLA_CONTROL]
                             Several (comma separated, or the option repeated): the nodes of a clustered broker,
                             tried in order with jittered backoff; a lost node is left for the next
  --activation-id ID         activation id (first start only)                           [FLOTILLA_ACTIVATION_ID]
  --activation-code CODE     activation code (first start only; on the command line it shows in ps: prefer the variable or the file) [FLOTILLA_ACTIVATION_CODE]
  --activation-code-file F   read the activation code from file F                       [FLOTILLA_ACTIVATION_CODE_FILE]
  --cluster NAME             cluster to register into (first start only; as ECS_CLUSTER): an activation for any cluster
                             joins it (default "default"), one bound to a cluster must match it [FLOTILLA_CLUSTER]
  --data-dir DIR             identity and state files                                   [FLOTILLA_DATA_DIR] default /var/lib/flotilla
  --image-pull-behavior B    default | always | once | prefer-cached                    [FLOTILLA_IMAGE_PULL_BEHAVIOR] default default
  --task-cleanup-wait S      seconds a stopped task's containers are kept before removal  [FLOTILLA_TASK_CLEANUP_WAIT] default 10800
  --introspection-port P     local introspection API on 127.0.0.1 (0: a free port; off: none) [FLOTILLA_INTROSPECTION_PORT] default 51678
  --task-metadata-port P     task metadata endpoint for the containers (ECS_CONTAINER_METADATA_URI_V4; 0: a free port; off: none) [FLOTILLA_TASK_METADATA_PORT] default 51679
  --task-metadata-address A  IP of this host the endpoint listens on and containers are given [FLOTILLA_TASK_METADATA_ADDRESS] default: the Docker bridge's gateway (docker0)
  --dns-listen A[:PORT]      service discovery DNS responder (SERVICE.CLUSTER.flotilla) given to containers as their DNS server;
                             containers are given it only on port 53 (off: none) [FLOTILLA_DNS_LISTEN] default: the Docker bridge's gateway, port 53
  --dns-upstream IP[:PORT]   where names outside .flotilla are forwarded (comma separated) [FLOTILLA_DNS_UPSTREAM] default: the host's /etc/resolv.conf nameservers
  --ingress on|off|ADDRESS   service ingress proxy: listen on each service's ingress listenPort and forward to its tasks (docs/ingress.md);
                             ADDRESS: bind that IP of the host only [FLOTILLA_INGRESS] default on (every IPv4 address)
  --dns-stale-after S        discovery records the control has not renewed for S seconds are served with TTL 0 [FLOTILLA_DNS_STALE_AFTER] default 300
  --registry-credentials F   JSON {"<registry host>":{"username","password"}} for private images without repositoryCredentials [FLOTILLA_REGISTRY_CREDENTIALS]
  --max-concurrent-pulls N   image pulls at a time (task starts and prefetches together) [FLOTILLA_MAX_CONCURRENT_PULLS] default 2
  --max-pull-bytes-per-second N  cap on image download bandwidth; pulls then go through the agent's own
                             registry client (resumable, blob cache under DATA_DIR/blobs) [FLOTILLA_MAX_PULL_BYTES_PER_SECOND] default none
  --image-cleanup-interval S seconds between removals of unused images this agent pulled (0: off) [FLOTILLA_IMAGE_CLEANUP_INTERVAL] default 3600
  --image-minimum-age S      an image this agent pulled is kept at least S seconds         [FLOTILLA_IMAGE_MINIMUM_AGE] default 3600
  --images-per-cycle N       at most N images removed per cleanup cycle                   [FLOTILLA_IMAGES_PER_CYCLE] default 5
  --health-interval S        seconds between instance health checks                     [FLOTILLA_HEALTH_INTERVAL] default 60
  --health-min-disk-free N   DISK_SPACE impaired below N bytes free (K/M/G/T/P suffixes)  [FLOTILLA_HEALTH_MIN_DISK_FREE] default 512M
  --pause-image IMAGE        image (with sh) for awsvpc/pidMode/ipcMode holders, pulled  [FLOTILLA_PAUSE_IMAGE] default: built-in flotilla/pause, loaded without a registry
  --attribute KEY=VALUE      custom attribute (repeatable)                              [FLOTILLA_ATTRIBUTES, comma separated]
  --advertise-address A      IP or DNS name other hosts reach this one at (service endpoints); default: its own IPs [FLOTILLA_ADVERTISE_ADDRESS]
  --enable-gpu-support       detect NVIDIA GPUs (nvidia-smi, else /proc/driver/nvidia) and register them as the GPU resource (ECS_ENABLE_GPU_SUPPORT) [FLOTILLA_ENABLE_GPU_SUPPORT=1]
  --stop-containers-on-deregister  when deregistered, stop this instance's containers before exiting (default: leave them) [FLOTILLA_STOP_CONTAINERS_ON_DEREGISTER=1]
  --resync-interval S        seconds between full state reports sent without a change (0: off) [FLOTILLA_RESYNC_INTERVAL] default 300
  --stats-interval S         seconds between samples of each running container's cpu and memory use (0: off) [FLOTILLA_STATS_INTERVAL] default 30
  --release-public-key FILE  PEM Ed25519 key(s) agent releases must be signed with; without it the agent refuses upgrades [FLOTILLA_RELEASE_PUBLIC_KEY]
  --upgrade-deadline S       seconds a new binary has to connect before the old one is put back (docs/agent-upgrades.md) [FLOTILLA_UPGRADE_DEADLINE] default 120
  --keepalive-seconds S      MQTT keepalive (1-65535): a vanished host is noticed after 1.5 × S [FLOTILLA_KEEPALIVE_SECONDS] default 10
  --ca-file FILE             PEM CA that signed the broker's certificate (mqtts://)    [FLOTILLA_CA_FILE]
  --tls-cert FILE            PEM client certificate presented to the broker            [FLOTILLA_TLS_CERT]
  --tls-key FILE             PEM key of --tls-cert                                      [FLOTILLA_TLS_KEY]
  --log-level L              trace | debug | info | warn | error | fatal | silent        [FLOTILLA_LOG_LEVEL] default info
  --log-format F             json (one object a line) | pretty                         [FLOTILLA_LOG_FORMAT] default pretty on a terminal, else json
  -h, --help                 show this help
The Docker engine is the one DOCKER_HOST names (unix:///path or tcp://host:port), else /var/run/docker.sock.`;

export interface AgentConfig {
  /** The first of controlUrls (registration starts there). */
  control: string;
  /** Every broker URL given, in the order to try them. */
  controlUrls: string[];
  activationId?: string;
  activationCode?: string;
  /** The cluster to register into; undefined: the activation's (or "default" for one with none). */
  cluster?: string;
  dataDir: string;
  imagePullBehavior: ImagePullBehavior;
  /** Image pulls at a time on this host (agent/runtime/pull-limiter.ts). */
  maxConcurrentPulls: number;
  /** --max-pull-bytes-per-second; undefined: no cap (dockerd pulls). */
  maxPullBytesPerSecond?: number;
  attributes: Record<string, string>;
  /** The address service endpoints give for this host (multi-homed hosts, NAT); absent: its own IPs. */
  advertiseAddress?: string;
  cleanupWaitSeconds: number;
  /** Image cleanup (ECS_IMAGE_CLEANUP_*): interval 0 turns it off. */
  imageCleanup: { intervalSeconds: number; minimumAgeSeconds: number; imagesPerCycle: number };
  /** An operator's namespace-holder image; undefined: the agent's built-in pause image. */
  pauseImage?: string;
  /** null: no introspection API; 0: any free port. */
  introspectionPort: number | null;
  /** The task metadata endpoint's port; null: none; 0: any free port. */
  taskMetadataPort: number | null;
  /** The address it listens on and containers reach it at; undefined: the Docker bridge's gateway. */
  taskMetadataAddress?: string;
  /** The discovery DNS responder's address (undefined: the Docker bridge's gateway) and port; null: none. */
  dnsListen: { address?: string; port: number } | null;
  /** Upstream resolvers for names outside .flotilla; undefined: the host's /etc/resolv.conf. */
  dnsUpstreams?: { address: string; port: number }[];
  dnsStaleAfterSeconds: number;
  /** The ingress proxy's listen address ("0.0.0.0": all); null: no proxy. */
  ingressAddress: string | null;
  registryCredentials?: string;
  healthIntervalSeconds: number;
  healthMinDiskFreeBytes: number;
  /** Full state reports even without a change, so one the control lost is repaired (0: off). */
  resyncIntervalSeconds: number;
  /** Container stats sampling (cpu, memory per running container, sent to the control); 0: off. */
  statsIntervalSeconds: number;
  /** File of the release public key(s) self-upgrades are checked against; absent: upgrades refused. */
  releasePublicKey?: string;
  upgradeDeadlineSeconds: number;
  /** MQTT keepalive: a host that vanishes without closing its connection is noticed after 1.5 × this. */
  keepaliveSeconds: number;
  /** TLS to the broker: CA to verify it with, and an optional client certificate. */
  tls: { caFile?: string; certFile?: string; keyFile?: string };
  stopContainersOnDeregister: boolean;
  /** ECS_ENABLE_GPU_SUPPORT: detect NVIDIA GPUs and register them; off by default, as in ECS. */
  gpuSupport: boolean;
  /** Log lines' threshold and format (shared/log.ts; format undefined: by the terminal). */
  log: { level: LogLevel; format?: LogFormat };
  help: boolean;
}

export class ConfigError extends Error {}

/** A DNS name (RFC 1123 labels, 253 characters at most). */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const PULL_BEHAVIORS = ["default", "always", "once", "prefer-cached"] as const;

/** "512M", "2G", "1048576": bytes, with binary K/M/G/T/P suffixes. */
function parseBytes(s: string): number {
  const m = /^(\d+)([KMGTP]?)i?B?$/i.exec(s.trim());
  if (!m) throw new ConfigError(`--health-min-disk-free must be a size such as 512M or 2G, got "${s}"`);
  return Number(m[1]) * 1024 ** " KMGTP".indexOf((m[2] || " ").toUpperCase());
}

export function parseAgentConfig(argv: string[], env: Record<string, string | undefined>): AgentConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        control: { type: "string", multiple: true },
        "activation-id": { type: "string" },
        "activation-code": { type: "string" },
        "activation-code-file": { type: "string" },
        cluster: { type: "string" },
        "data-dir": { type: "string" },
        "image-pull-behavior": { type: "string" },
        "max-concurrent-pulls": { type: "string" },
        "max-pull-bytes-per-second": { type: "string" },
        attribute: { type: "string", multiple: true },
        "advertise-address": { type: "string" },
        "task-cleanup-wait": { type: "string" },
        "image-cleanup-interval": { type: "string" },
        "image-minimum-age": { type: "string" },
        "images-per-cycle": { type: "string" },
        "pause-image": { type: "string" },
        "introspection-port": { type: "string" },
        "task-metadata-port": { type: "string" },
        "task-metadata-address": { type: "string" },
        "registry-credentials": { type: "string" },
        "dns-listen": { type: "string" },
        "dns-upstream": { type: "string" },
        "dns-stale-after": { type: "string" },
        ingress: { type: "string" },
        "health-interval": { type: "string" },
        "health-min-disk-free": { type: "string" },
        "keepalive-seconds": { type: "string" },
        "resync-interval": { type: "string" },
        "stats-interval": { type: "string" },
        "release-public-key": { type: "string" },
        "upgrade-deadline": { type: "string" },
        "ca-file": { type: "string" },
        "stop-containers-on-deregister": { type: "boolean" },
        "enable-gpu-support": { type: "boolean" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const help = values.help ?? false;
  const controlUrls = (values.control ?? [env.FLOTILLA_CONTROL ?? ""]).flatMap((v) => v.split(",")).map((u) => u.trim()).filter((u) => u.length > 0);
  if (!help) {
    if (!controlUrls.length) throw new ConfigError("--control is required (e.g. mqtt://127.0.0.1:1883)");
    for (const u of controlUrls) if (!/^mqtts?:\/\/[^/,]+\/?$/.test(u)) throw new ConfigError(`--control must be mqtt:// or mqtts:// URLs (comma separated), got "${u}"`);
    if (new Set(controlUrls).size !== controlUrls.length) throw new ConfigError(`--control names a broker URL twice: ${controlUrls.join(",")}`);
  }
  const control = controlUrls[0] ?? "";
  const cluster = values.cluster ?? (env.FLOTILLA_CLUSTER || undefined);
  if (cluster !== undefined && !/^[A-Za-z0-9_-]{1,255}$/.test(cluster)) {
    throw new ConfigError(`--cluster must be 1-255 letters, digits, hyphens or underscores, got "${cluster}"`);
  }
  const pull = values["image-pull-behavior"] ?? env.FLOTILLA_IMAGE_PULL_BEHAVIOR ?? "default";
  if (!(PULL_BEHAVIORS as readonly string[]).includes(pull)) {
    throw new ConfigError(`--image-pull-behavior must be one of ${PULL_BEHAVIORS.join(", ")}, got "${pull}"`);
  }
  const attributes: Record<string, string> = {};
  const rawAttrs = [...(env.FLOTILLA_ATTRIBUTES ? env.FLOTILLA_ATTRIBUTES.split(",") : []), ...(values.attribute ?? [])];
  for (const a of rawAttrs) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--attribute must be KEY=VALUE, got "${a}"`);
    attributes[a.slice(0, eq).trim()] = a.slice(eq + 1).trim();
  }
  const advertiseAddress = values["advertise-address"] ?? (env.FLOTILLA_ADVERTISE_ADDRESS || undefined);
  if (advertiseAddress !== undefined && !isIP(advertiseAddress) && !DNS_NAME.test(advertiseAddress)) {
    throw new ConfigError(`--advertise-address must be an IP address or a DNS name, got "${advertiseAddress}"`);
  }
  const cleanup = values["task-cleanup-wait"] ?? env.FLOTILLA_TASK_CLEANUP_WAIT ?? "10800";
  if (!/^\d+$/.test(cleanup)) throw new ConfigError(`--task-cleanup-wait must be a whole number of seconds, got "${cleanup}"`);
  const wholeNumber = (flag: string, value: string, min = 0) => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new ConfigError(`--${flag} must be a whole number${min ? ` (at least ${min})` : ""}, got "${value}"`);
    }
    return Number(value);
  };
  const maxConcurrentPulls = wholeNumber("max-concurrent-pulls", values["max-concurrent-pulls"] ?? env.FLOTILLA_MAX_CONCURRENT_PULLS ?? "2", 1);
  const bandwidth = values["max-pull-bytes-per-second"] ?? (env.FLOTILLA_MAX_PULL_BYTES_PER_SECOND || undefined);
  const maxPullBytesPerSecond = bandwidth === undefined ? undefined : wholeNumber("max-pull-bytes-per-second", bandwidth, 1024);
  const imageCleanup = {
    intervalSeconds: wholeNumber("image-cleanup-interval", values["image-cleanup-interval"] ?? env.FLOTILLA_IMAGE_CLEANUP_INTERVAL ?? "3600"),
    minimumAgeSeconds: wholeNumber("image-minimum-age", values["image-minimum-age"] ?? env.FLOTILLA_IMAGE_MINIMUM_AGE ?? "3600"),
    imagesPerCycle: wholeNumber("images-per-cycle", values["images-per-cycle"] ?? env.FLOTILLA_IMAGES_PER_CYCLE ?? "5", 1),
  };
  const introspection = values["introspection-port"] ?? env.FLOTILLA_INTROSPECTION_PORT ?? "51678";
  if (introspection !== "off" && !(/^\d+$/.test(introspection) && Number(introspection) <= 65535)) {
    throw new ConfigError(`--introspection-port must be a port number (0-65535) or "off", got "${introspection}"`);
  }
  const metadataPort = values["task-metadata-port"] ?? env.FLOTILLA_TASK_METADATA_PORT ?? "51679";
  if (metadataPort !== "off" && !(/^\d+$/.test(metadataPort) && Number(metadataPort) <= 65535)) {
    throw new ConfigError(`--task-metadata-port must be a port number (0-65535) or "off", got "${metadataPort}"`);
  }
  const metadataAddress = values["task-metadata-address"] ?? (env.FLOTILLA_TASK_METADATA_ADDRESS || undefined);
  if (metadataAddress !== undefined && !isIP(metadataAddress)) {
    throw new ConfigError(`--task-metadata-address must be an IP address of this host, got "${metadataAddress}"`);
  }
  const dnsListen = parseDnsListen(values["dns-listen"] ?? (env.FLOTILLA_DNS_LISTEN || "default"));
  const upstreamText = values["dns-upstream"] ?? (env.FLOTILLA_DNS_UPSTREAM || undefined);
  let dnsUpstreams: AgentConfig["dnsUpstreams"];
  if (upstreamText !== undefined) {
    try {
      dnsUpstreams = upstreamText.split(",").map((u) => parseUpstream(u.trim()));
    } catch (e) {
      throw new ConfigError(`--dns-upstream: ${(e as Error).message}`);
    }
  }
  const dnsStaleAfter = values["dns-stale-after"] ?? env.FLOTILLA_DNS_STALE_AFTER ?? "300";
  if (!/^\d+$/.test(dnsStaleAfter) || Number(dnsStaleAfter) < 1) throw new ConfigError(`--dns-stale-after must be a whole number of seconds (at least 1), got "${dnsStaleAfter}"`);
  const health = values["health-interval"] ?? env.FLOTILLA_HEALTH_INTERVAL ?? "60";
  if (!/^\d+$/.test(health) || Number(health) < 1) throw new ConfigError(`--health-interval must be a whole number of seconds (at least 1), got "${health}"`);
  const resync = values["resync-interval"] ?? env.FLOTILLA_RESYNC_INTERVAL ?? "300";
  if (!/^\d+$/.test(resync)) throw new ConfigError(`--resync-interval must be a whole number of seconds (0: off), got "${resync}"`);
  const upgradeDeadline = values["upgrade-deadline"] ?? env.FLOTILLA_UPGRADE_DEADLINE ?? "120";
  if (!/^\d+$/.test(upgradeDeadline) || Number(upgradeDeadline) < 1) throw new ConfigError(`--upgrade-deadline must be a whole number of seconds, at least 1, got "${upgradeDeadline}"`);
  const statsInterval = values["stats-interval"] ?? env.FLOTILLA_STATS_INTERVAL ?? "30";
  if (!/^\d+$/.test(statsInterval)) throw new ConfigError(`--stats-interval must be a whole number of seconds (0: off), got "${statsInterval}"`);
  // MQTT's keepalive is a 16-bit field, and 0 would turn the broker's dead-client detection off.
  const keepalive = values["keepalive-seconds"] ?? env.FLOTILLA_KEEPALIVE_SECONDS ?? "10";
  if (!/^\d+$/.test(keepalive) || Number(keepalive) < 1 || Number(keepalive) > 65535) {
    throw new ConfigError(`--keepalive-seconds must be a whole number of seconds from 1 to 65535, got "${keepalive}"`);
  }
  const tls = {
    caFile: values["ca-file"] ?? env.FLOTILLA_CA_FILE,
    certFile: values["tls-cert"] ?? env.FLOTILLA_TLS_CERT,
    keyFile: values["tls-key"] ?? env.FLOTILLA_TLS_KEY,
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) throw new ConfigError("--tls-cert and --tls-key go together");
  return {
    tls,
    stopContainersOnDeregister: values["stop-containers-on-deregister"] ?? env.FLOTILLA_STOP_CONTAINERS_ON_DEREGISTER === "1",
    // ECS's own variable is accepted too, so an ECS Anywhere host's setting carries over.
    gpuSupport: values["enable-gpu-support"] ?? (env.FLOTILLA_ENABLE_GPU_SUPPORT === "1" || env.ECS_ENABLE_GPU_SUPPORT === "true"),
    control,
    controlUrls,
    introspectionPort: introspection === "off" ? null : Number(introspection),
    taskMetadataPort: metadataPort === "off" ? null : Number(metadataPort),
    taskMetadataAddress: metadataAddress,
    registryCredentials: values["registry-credentials"] ?? env.FLOTILLA_REGISTRY_CREDENTIALS,
    dnsListen,
    dnsUpstreams,
    dnsStaleAfterSeconds: Number(dnsStaleAfter),
    ingressAddress: parseIngress(values.ingress ?? (env.FLOTILLA_INGRESS || "on")),
    healthIntervalSeconds: Number(health),
    keepaliveSeconds: Number(keepalive),
    resyncIntervalSeconds: Number(resync),
    statsIntervalSeconds: Number(statsInterval),
    releasePublicKey: values["release-public-key"] ?? (env.FLOTILLA_RELEASE_PUBLIC_KEY || undefined),
    upgradeDeadlineSeconds: Number(upgradeDeadline),
    healthMinDiskFreeBytes: parseBytes(values["health-min-disk-free"] ?? env.FLOTILLA_HEALTH_MIN_DISK_FREE ?? "512M"),
    cleanupWaitSeconds: Number(cleanup),
    imageCleanup,
    pauseImage: values["pause-image"] || env.FLOTILLA_PAUSE_IMAGE || undefined,
    activationId: values["activation-id"] ?? env.FLOTILLA_ACTIVATION_ID,
    activationCode: values["activation-code"] ?? activationCodeFromFile(values["activation-code-file"] ?? env.FLOTILLA_ACTIVATION_CODE_FILE) ?? (env.FLOTILLA_ACTIVATION_CODE || undefined),
    cluster,
    dataDir: values["data-dir"] ?? env.FLOTILLA_DATA_DIR ?? "/var/lib/flotilla",
    imagePullBehavior: pull as ImagePullBehavior,
    maxConcurrentPulls,
    maxPullBytesPerSecond,
    attributes,
    advertiseAddress,
    log: parseLogSettings(values["log-level"] ?? (env.FLOTILLA_LOG_LEVEL || undefined), values["log-format"] ?? (env.FLOTILLA_LOG_FORMAT || undefined), (m) => new ConfigError(m)),
    help,
  };
}

/** "off", "default" (the bridge's gateway, 53), "ADDR", "ADDR:PORT" or "[V6]:PORT". */
function parseDnsListen(s: string): AgentConfig["dnsListen"] {
  if (s === "off") return null;
  if (s === "default") return { port: 53 };
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s) ?? [s, s, undefined];
  const address = m[1]!;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (!isIP(address) || port > 65535) throw new ConfigError(`--dns-listen must be an IP address of this host with an optional port, or "off", got "${s}"`);
  return { address, port };
}

/** "on" (every IPv4 address), "off" or one IP address of the host. */
function parseIngress(s: string): string | null {
  if (s === "off") return null;
  if (s === "on") return "0.0.0.0";
  if (!isIP(s)) throw new ConfigError(`--ingress must be "on", "off" or an IP address of this host, got "${s}"`);
  return s;
}

/** The activation code from a file (kept out of argv, where `ps` shows it to every user); trimmed. */
function activationCodeFromFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let code: string;
  try {
    code = readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new ConfigError(`--activation-code-file: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!code) throw new ConfigError(`--activation-code-file: ${path} is empty`);
  return code;
}
