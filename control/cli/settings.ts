import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { UsageError } from "./errors.ts";

/** Where the CLI finds the API: flags win over environment, environment over the config file. */
export interface Settings {
  api: string;
  token?: string;
  cluster: string;
  output: "table" | "json";
}

const configFile = z.strictObject({
  api: z.string().url().optional(),
  token: z.string().min(1).optional(),
  cluster: z.string().min(1).optional(),
});

export function configPath(env: Record<string, string | undefined>): string {
  if (env.FLOTILLA_CONFIG) return env.FLOTILLA_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "flotilla", "config.json");
}

function readConfig(path: string): z.infer<typeof configFile> {
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

export function resolveSettings(
  flags: { api?: string; token?: string; cluster?: string; output?: string },
  env: Record<string, string | undefined>,
): Settings {
  const file = readConfig(configPath(env));
  const output = flags.output ?? "table";
  if (output !== "table" && output !== "json") throw new UsageError(`--output must be table or json, got "${output}"`);
  const api = (flags.api ?? env.FLOTILLA_API_URL ?? file.api ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(api)) throw new UsageError(`--api must be an http:// or https:// URL, got "${api}"`);
  return {
    api,
    token: flags.token ?? env.FLOTILLA_TOKEN ?? file.token,
    cluster: flags.cluster ?? env.FLOTILLA_CLUSTER ?? file.cluster ?? "default",
    output,
  };
}
