import { parseArgs } from "node:util";

export const CONTROL_HELP = `Usage: bun run control [options]

Runs the Flotilla control service: REST API, embedded MQTT broker and database.

Options (environment variable in brackets):
  --http-port N   HTTP API port, 0 picks a free one     [FLOTILLA_HTTP_PORT]  default 8080
  --mqtt-port N   embedded MQTT broker port, 0 = free   [FLOTILLA_MQTT_PORT]  default 1883
  --bind ADDR     address both listen on                [FLOTILLA_BIND]       default 127.0.0.1
  --db URL        libSQL database URL                   [FLOTILLA_DB]         default file:./data/flotilla.db
  -h, --help      show this help

The admin API token is taken from FLOTILLA_ADMIN_TOKEN, or created and printed once on first start.`;

export interface ControlConfig {
  httpPort: number;
  mqttPort: number;
  bind: string;
  db: string;
  adminToken?: string;
  help: boolean;
}

export class ConfigError extends Error {}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new ConfigError(`${name} must be a port number (0-65535), got "${value}"`);
  return n;
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
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return {
    httpPort: port("--http-port", values["http-port"] ?? env.FLOTILLA_HTTP_PORT ?? "8080"),
    mqttPort: port("--mqtt-port", values["mqtt-port"] ?? env.FLOTILLA_MQTT_PORT ?? "1883"),
    bind: values.bind ?? env.FLOTILLA_BIND ?? "127.0.0.1",
    db: values.db ?? env.FLOTILLA_DB ?? "file:./data/flotilla.db",
    adminToken: env.FLOTILLA_ADMIN_TOKEN || undefined,
    help: values.help ?? false,
  };
}
