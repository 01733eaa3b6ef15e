import { parseArgs } from "node:util";
import type { ImagePullBehavior } from "./runtime/types.ts";

export const AGENT_HELP = `Usage: bun run agent [options]

Runs the Flotilla agent: registers this host with the control service (first start), then runs
the tasks placed on it in the local Docker engine.

Options (environment variable in brackets):
  --control URL              MQTT URL of the control service, e.g. mqtt://10.0.0.5:1883   [FLOTILLA_CONTROL]
  --activation-id ID         activation id (first start only)                           [FLOTILLA_ACTIVATION_ID]
  --activation-code CODE     activation code (first start only)                         [FLOTILLA_ACTIVATION_CODE]
  --data-dir DIR             identity and state files                                   [FLOTILLA_DATA_DIR] default /var/lib/flotilla
  --image-pull-behavior B    default | always | once | prefer-cached                    [FLOTILLA_IMAGE_PULL_BEHAVIOR] default default
  --task-cleanup-wait S      seconds a stopped task's containers are kept before removal  [FLOTILLA_TASK_CLEANUP_WAIT] default 10800
  --attribute KEY=VALUE      custom attribute (repeatable)                              [FLOTILLA_ATTRIBUTES, comma separated]
  -h, --help                 show this help`;

export interface AgentConfig {
  control: string;
  activationId?: string;
  activationCode?: string;
  dataDir: string;
  imagePullBehavior: ImagePullBehavior;
  attributes: Record<string, string>;
  cleanupWaitSeconds: number;
  help: boolean;
}

export class ConfigError extends Error {}

const PULL_BEHAVIORS = ["default", "always", "once", "prefer-cached"] as const;

export function parseAgentConfig(argv: string[], env: Record<string, string | undefined>): AgentConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        control: { type: "string" },
        "activation-id": { type: "string" },
        "activation-code": { type: "string" },
        "data-dir": { type: "string" },
        "image-pull-behavior": { type: "string" },
        attribute: { type: "string", multiple: true },
        "task-cleanup-wait": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const help = values.help ?? false;
  const control = values.control ?? env.FLOTILLA_CONTROL ?? "";
  if (!help) {
    if (!control) throw new ConfigError("--control is required (e.g. mqtt://127.0.0.1:1883)");
    if (!/^mqtts?:\/\/[^/]+/.test(control)) throw new ConfigError(`--control must be an mqtt:// or mqtts:// URL, got "${control}"`);
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
  const cleanup = values["task-cleanup-wait"] ?? env.FLOTILLA_TASK_CLEANUP_WAIT ?? "10800";
  if (!/^\d+$/.test(cleanup)) throw new ConfigError(`--task-cleanup-wait must be a whole number of seconds, got "${cleanup}"`);
  return {
    control,
    cleanupWaitSeconds: Number(cleanup),
    activationId: values["activation-id"] ?? env.FLOTILLA_ACTIVATION_ID,
    activationCode: values["activation-code"] ?? env.FLOTILLA_ACTIVATION_CODE,
    dataDir: values["data-dir"] ?? env.FLOTILLA_DATA_DIR ?? "/var/lib/flotilla",
    imagePullBehavior: pull as ImagePullBehavior,
    attributes,
    help,
  };
}
