import { parseArgs } from "node:util";
import { parseLogSettings, type LogFormat, type LogLevel } from "../shared/log-settings.ts";

export const CONTROL_HELP = `Usage: bun run control [options]

Runs the Flotilla control service: REST API, embedded MQTT broker and database.

Options (environment variable in brackets):
  --http-port N   HTTP API port, 0 picks a free one     [FLOTILLA_HTTP_PORT]  default 8080
  --mqtt-port N   embedded MQTT broker port, 0 = free   [FLOTILLA_MQTT_PORT]  default 1883
  --bind ADDR     address both listen on                [FLOTILLA_BIND]       default 127.0.0.1
  --db URL        libSQL database URL                   [FLOTILLA_DB]         default file:./data/flotilla.db
  --tls-cert FILE  PEM certificate chain: serve HTTPS and MQTTS     [FLOTILLA_TLS_CERT]
  --tls-key FILE   PEM private key for --tls-cert                   [FLOTILLA_TLS_KEY]
  --tls-client-ca FILE  ask agents for client certificates from this CA (MQTTS) [FLOTILLA_TLS_CLIENT_CA]
  --broker MODE    embedded (aedes, default) | external (Mosquitto 2 with dynamic security) [FLOTILLA_BROKER]
  --broker-url URL            external broker URL agents and the control use [FLOTILLA_BROKER_URL]
  --broker-admin-user NAME    dynamic-security admin on the external broker  [FLOTILLA_BROKER_ADMIN_USER]
  --broker-admin-password PW  its password                                   [FLOTILLA_BROKER_ADMIN_PASSWORD]
  --broker-cluster URL        redis://HOST:PORT: the embedded broker is one node of a cluster sharing messages,
                              retained state and sessions through this Redis (each control process its own node) [FLOTILLA_BROKER_CLUSTER]
  --master-key-file FILE      key encrypting secrets, created 0600 if absent [FLOTILLA_MASTER_KEY_FILE] default next to the database
  --ha             high availability: run beside other control processes on the same database and
                   external broker (or broker cluster); a database lease elects the one running the reconcilers [FLOTILLA_HA=1]
  --ha-id NAME     this process's lease holder id, unique per process  [FLOTILLA_HA_ID]  default host-pid-random
  --lease-ttl-ms N leader lease duration; failover takes at most N*4/3 [FLOTILLA_LEASE_TTL_MS] default 5000
  --webhook-allow-hosts H,H   webhook destinations allowed (host names); others refused [FLOTILLA_WEBHOOK_ALLOW_HOSTS] default any
  --event-retention-count N   events kept at most           [FLOTILLA_EVENT_RETENTION_COUNT] default 100000
  --event-retention-hours N   events older than N hours go  [FLOTILLA_EVENT_RETENTION_HOURS] default 168
  --metrics-listen HOST:PORT  token-less GET /metrics listener, "off" for none [FLOTILLA_METRICS_LISTEN] default 127.0.0.1:9464
  --release-public-key FILE   PEM Ed25519 key(s) agent releases must be signed with (docs/agent-upgrades.md) [FLOTILLA_RELEASE_PUBLIC_KEY]
  --release-dir DIR           where uploaded agent binaries are kept [FLOTILLA_RELEASE_DIR] default agent-releases/ next to the database
  --public-url URL            base URL agents download releases from [FLOTILLA_PUBLIC_URL] default the URL the upgrade request came to
  --log-level L    trace | debug | info | warn | error | fatal | silent  [FLOTILLA_LOG_LEVEL]  default info
  --log-format F   json (one object a line) | pretty                   [FLOTILLA_LOG_FORMAT] default pretty on a terminal, else json
  -h, --help      show this help

The admin API token is taken from FLOTILLA_ADMIN_TOKEN, or created and printed once on first start.
The secrets master key (32 bytes, hex or base64) is taken from FLOTILLA_MASTER_KEY, else the key file.`;

export interface ControlConfig {
  httpPort: number;
  mqttPort: number;
  bind: string;
  db: string;
  adminToken?: string;
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** clusterUrl (--broker-cluster): the embedded broker is one node of a Redis-backed cluster. */
  broker: { mode: "embedded"; clusterUrl?: string } | { mode: "external"; url: string; adminUser: string; adminPassword: string };
  masterKey?: string;
  masterKeyFile?: string;
  /** Set with --ha: lease-elected leader among several control processes (docs/operations.md). */
  ha?: { holderId?: string; leaseTtlMs: number };
  /** Webhook destination host names allowed (docs/events.md); absent = any. */
  webhookAllowHosts?: string[];
  eventRetention: { maxCount: number; maxAgeMs: number };
  /** The token-less /metrics listener (docs/metrics.md); undefined: off. */
  metricsListen?: { host: string; port: number };
  releasePublicKey?: string;
  releaseDir?: string;
  publicUrl?: string;
  /** Log lines' threshold and format (shared/log.ts; format undefined: by the terminal). */
  log: { level: LogLevel; format?: LogFormat };
  help: boolean;
}

export class ConfigError extends Error {}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new ConfigError(`${name} must be a port number (0-65535), got "${value}"`);
  return n;
}

/** HOST:PORT ([v6]:PORT for IPv6), or "off". */
function metricsListen(value: string): ControlConfig["metricsListen"] {
  if (value === "off") return undefined;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(value);
  if (!m) throw new ConfigError(`--metrics-listen must be HOST:PORT or off, got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: port("--metrics-listen", m[2]!) };
}

export function parseControlConfig(argv: string[], env: Record<string, string | undefined>): ControlConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "http-port": { type: "string" },
        "mqtt-port": { type: "string" },
        bind: { type: "string" },
        db: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-client-ca": { type: "string" },
        broker: { type: "string" },
        "broker-url": { type: "string" },
        "broker-admin-user": { type: "string" },
        "broker-admin-password": { type: "string" },
        "broker-cluster": { type: "string" },
        "master-key-file": { type: "string" },
        ha: { type: "boolean" },
        "ha-id": { type: "string" },
        "lease-ttl-ms": { type: "string" },
        "webhook-allow-hosts": { type: "string" },
        "event-retention-count": { type: "string" },
        "event-retention-hours": { type: "string" },
        "metrics-listen": { type: "string" },
        "release-public-key": { type: "string" },
        "release-dir": { type: "string" },
        "public-url": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const certFile = values["tls-cert"] ?? env.FLOTILLA_TLS_CERT;
  const keyFile = values["tls-key"] ?? env.FLOTILLA_TLS_KEY;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError("--tls-cert and --tls-key go together");
  const clientCaFile = values["tls-client-ca"] ?? env.FLOTILLA_TLS_CLIENT_CA;
  if (clientCaFile && !certFile) throw new ConfigError("--tls-client-ca needs --tls-cert and --tls-key");
  const mode = values.broker ?? env.FLOTILLA_BROKER ?? "embedded";
  let broker: ControlConfig["broker"];
  const clusterUrl = values["broker-cluster"] ?? (env.FLOTILLA_BROKER_CLUSTER || undefined);
  if (clusterUrl !== undefined && !/^rediss?:\/\/[^/]+(\/\d+)?$/.test(clusterUrl)) throw new ConfigError(`--broker-cluster must be redis://HOST:PORT (or rediss://, optionally /DB), got "${clusterUrl}"`);
  if (clusterUrl !== undefined && mode !== "embedded") throw new ConfigError("--broker-cluster clusters the embedded broker; it does not go with --broker external");
  if (mode === "embedded") broker = { mode, clusterUrl };
  else if (mode === "external") {
    const url = values["broker-url"] ?? env.FLOTILLA_BROKER_URL;
    const adminUser = values["broker-admin-user"] ?? env.FLOTILLA_BROKER_ADMIN_USER;
    const adminPassword = values["broker-admin-password"] ?? env.FLOTILLA_BROKER_ADMIN_PASSWORD;
    if (!url || !/^mqtts?:\/\/[^/]+/.test(url)) throw new ConfigError("--broker external needs --broker-url mqtt://HOST:PORT (or mqtts://)");
    if (!adminUser || !adminPassword) throw new ConfigError("--broker external needs --broker-admin-user and --broker-admin-password");
    broker = { mode, url, adminUser, adminPassword };
  } else throw new ConfigError(`--broker must be embedded or external, got "${mode}"`);
  const haOn = values.ha ?? ["1", "true", "yes"].includes((env.FLOTILLA_HA ?? "").toLowerCase());
  let ha: ControlConfig["ha"];
  if (haOn) {
    if (broker.mode !== "external" && !broker.clusterUrl) throw new ConfigError("--ha needs --broker external (MQTT shared subscriptions) or --broker-cluster redis://HOST:PORT");
    const ttl = values["lease-ttl-ms"] ?? env.FLOTILLA_LEASE_TTL_MS ?? "5000";
    if (!/^\d+$/.test(ttl) || Number(ttl) < 300 || Number(ttl) > 600_000) throw new ConfigError(`--lease-ttl-ms must be a whole number of milliseconds from 300 to 600000, got "${ttl}"`);
    const holderId = values["ha-id"] ?? env.FLOTILLA_HA_ID;
    if (holderId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(holderId)) throw new ConfigError(`--ha-id must be 1-64 letters, digits, '.', '_' or '-', got "${holderId}"`);
    ha = { holderId, leaseTtlMs: Number(ttl) };
  }
  const allow = values["webhook-allow-hosts"] ?? env.FLOTILLA_WEBHOOK_ALLOW_HOSTS;
  const webhookAllowHosts = allow === undefined ? undefined : allow.split(",").map((h) => h.trim()).filter((h) => h.length > 0);
  if (webhookAllowHosts?.some((h) => !/^[A-Za-z0-9.:[\]-]{1,253}$/.test(h))) throw new ConfigError(`--webhook-allow-hosts must be comma-separated host names, got "${allow}"`);
  const count = values["event-retention-count"] ?? env.FLOTILLA_EVENT_RETENTION_COUNT ?? "100000";
  if (!/^\d+$/.test(count) || Number(count) < 1) throw new ConfigError(`--event-retention-count must be a whole number of at least 1, got "${count}"`);
  const hours = values["event-retention-hours"] ?? env.FLOTILLA_EVENT_RETENTION_HOURS ?? "168";
  if (!/^\d+$/.test(hours) || Number(hours) < 1) throw new ConfigError(`--event-retention-hours must be a whole number of at least 1, got "${hours}"`);
  const db = values.db ?? env.FLOTILLA_DB ?? "file:./data/flotilla.db";
  // Said here, in one line, rather than as libSQL's "unsupported URL scheme" from deep in start-up.
  if (/^postgres(ql)?:\/\//.test(db)) {
    throw new ConfigError(
      `--db ${db.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@")}: the control service does not run on PostgreSQL yet (docs/postgres.md); ` +
        "'flotilla db migrate' copies an installation into one",
    );
  }
  return {
    ha,
    webhookAllowHosts,
    metricsListen: metricsListen(values["metrics-listen"] ?? env.FLOTILLA_METRICS_LISTEN ?? "127.0.0.1:9464"),
    eventRetention: { maxCount: Number(count), maxAgeMs: Number(hours) * 3600_000 },
    tls: certFile && keyFile ? { certFile, keyFile, clientCaFile } : undefined,
    broker,
    masterKey: env.FLOTILLA_MASTER_KEY || undefined,
    releasePublicKey: values["release-public-key"] ?? (env.FLOTILLA_RELEASE_PUBLIC_KEY || undefined),
    releaseDir: values["release-dir"] ?? (env.FLOTILLA_RELEASE_DIR || undefined),
    publicUrl: values["public-url"] ?? (env.FLOTILLA_PUBLIC_URL || undefined),
    masterKeyFile: values["master-key-file"] ?? env.FLOTILLA_MASTER_KEY_FILE,
    httpPort: port("--http-port", values["http-port"] ?? env.FLOTILLA_HTTP_PORT ?? "8080"),
    mqttPort: port("--mqtt-port", values["mqtt-port"] ?? env.FLOTILLA_MQTT_PORT ?? "1883"),
    bind: values.bind ?? env.FLOTILLA_BIND ?? "127.0.0.1",
    db,
    adminToken: env.FLOTILLA_ADMIN_TOKEN || undefined,
    log: parseLogSettings(values["log-level"] ?? (env.FLOTILLA_LOG_LEVEL || undefined), values["log-format"] ?? (env.FLOTILLA_LOG_FORMAT || undefined), (m) => new ConfigError(m)),
    help: values.help ?? false,
  };
}
