import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { UsageError } from "./errors.ts";

/** Where the CLI finds the API: flags win over environment, environment over the config file. */
export interface Settings {
  api: string;
  token?: string;
  cluster: string;
  output: "table" | "json" | "yaml";
  /** The config-file context in use, if any. */
  profile?: string;
}

const connection = z.strictObject({
  api: z.string().url().optional(),
  token: z.string().min(1).optional(),
  cluster: z.string().min(1).optional(),
});

/**
 * The config file: top-level api/token/cluster (one control service), and named contexts for
 * several, as kubectl's kubeconfig: `--profile` / FLOTILLA_PROFILE / currentContext picks one.
 */
const configFile = connection.extend({
  currentContext: z.string().min(1).optional(),
  contexts: z.record(z.string().min(1), connection).optional(),
});
export type ConfigFile = z.infer<typeof configFile>;

export function configPath(env: Record<string, string | undefined>): string {
  if (env.FLOTILLA_CONFIG) return env.FLOTILLA_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "flotilla", "config.json");
}

export function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid JSON (${(e as Error).message})`);
  }
  const parsed = configFile.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new UsageError(`config file ${path}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return parsed.data;
}

/** Writes the config file 0600 (it holds tokens). */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}

export function resolveSettings(
  flags: { api?: string; token?: string; cluster?: string; output?: string; profile?: string },
  env: Record<string, string | undefined>,
): Settings {
  const path = configPath(env);
  const file = readConfig(path);
  // An empty variable counts as unset (FLOTILLA_TOKEN= in a script clears it, as for aws).
  const envOf = (k: string) => env[k] || undefined;
  const profile = flags.profile ?? envOf("FLOTILLA_PROFILE") ?? file.currentContext;
  let ctx: z.infer<typeof connection> = file;
  if (profile !== undefined) {
    const found = file.contexts?.[profile];
    if (!found) {
      const names = Object.keys(file.contexts ?? {});
      throw new UsageError(`no context "${profile}" in ${path}${names.length ? ` (one of: ${names.join(", ")})` : ""}`);
    }
    ctx = found;
  }
  const output = flags.output ?? "table";
  if (output !== "table" && output !== "json" && output !== "yaml") throw new UsageError(`--output must be table, json or yaml, got "${output}"`);
  const api = (flags.api ?? envOf("FLOTILLA_API_URL") ?? ctx.api ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(api)) throw new UsageError(`--api must be an http:// or https:// URL, got "${api}"`);
  return {
    api,
    token: flags.token ?? envOf("FLOTILLA_TOKEN") ?? ctx.token,
    cluster: flags.cluster ?? envOf("FLOTILLA_CLUSTER") ?? ctx.cluster ?? "default",
    output,
    ...(profile !== undefined ? { profile } : {}),
  };
}
