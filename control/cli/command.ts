import { parseArgs, type ParseArgsConfig } from "node:util";
import type { ApiClient } from "./client.ts";
import { UsageError } from "./errors.ts";
import type { Settings } from "./settings.ts";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { description?: string; valueName?: string };

export interface CommandContext {
  client: ApiClient;
  settings: Settings;
  /** Everything the command prints goes through these, so tests and pipes see clean output. */
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (live progress rewrites one line only then). */
  tty: boolean;
  signal: AbortSignal;
}

export interface Command {
  summary: string;
  /** Positional arguments as shown in usage, e.g. "<cluster>". */
  args?: string;
  options?: Record<string, OptionSpec>;
  /** Examples shown under --help. */
  examples?: string[];
  /** Resolves to the exit code (default 0). */
  run(ctx: CommandContext, input: { positionals: string[]; values: Record<string, any> }): Promise<number | void>;
}

export interface Resource {
  name: string;
  summary: string;
  commands: Record<string, Command>;
  /** A resource that is one command (`flotilla aws-env [options]`): run with no verb. */
  default?: Command;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  api: { type: "string", valueName: "URL", description: "API base URL [FLOTILLA_API_URL, config api] default http://127.0.0.1:8080" },
  token: { type: "string", valueName: "TOKEN", description: "bearer token [FLOTILLA_TOKEN, config token]" },
  cluster: { type: "string", short: "c", valueName: "NAME", description: "cluster [FLOTILLA_CLUSTER, config cluster] default default" },
  output: { type: "string", short: "o", valueName: "FORMAT", description: "table (default) or json" },
  help: { type: "boolean", short: "h", description: "show help" },
};

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.valueName ?? "VALUE"}` : ""}${o.multiple ? " ..." : ""}`;
    return [flag, o.description ?? ""] as const;
  });
  const w = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
}

export function commandHelp(resource: string, verb: string, cmd: Command): string {
  const lines = [`Usage: flotilla ${resource}${verb ? ` ${verb}` : ""}${cmd.args ? ` ${cmd.args}` : ""} [options]`, "", cmd.summary];
  if (cmd.options && Object.keys(cmd.options).length) lines.push("", "Options:", ...optionLines(cmd.options));
  lines.push("", "Global options:", ...optionLines(GLOBAL_OPTIONS));
  if (cmd.examples?.length) lines.push("", "Examples:", ...cmd.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

export function resourceHelp(r: Resource): string {
  const w = Math.max(...Object.keys(r.commands).map((k) => k.length));
  return [
    `Usage: flotilla ${r.name} <command> [options]`,
    "",
    r.summary,
    "",
    "Commands:",
    ...Object.entries(r.commands).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
    "",
    `Run 'flotilla ${r.name} <command> --help' for a command's options.`,
  ].join("\n");
}

/** Parses a command's flags plus the global ones; any unknown flag is a UsageError (exit 2). */
export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options = { ...GLOBAL_OPTIONS, ...(cmd.options ?? {}) };
  const spec: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [k, { description: _d, valueName: _v, ...o }] of Object.entries(options)) spec[k] = o;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
    return { values: values as Record<string, any>, positionals };
  } catch (e) {
    // node's messages go on to explain `--`; the first sentence is the useful part.
    const msg = (e as Error).message.split("\n")[0]!;
    throw new UsageError(msg.replace(/\. To specify a positional.*$/, "").replace(/^Unknown/, "unknown"));
  }
}

/** Exactly the positionals a command expects, named in the error when missing or extra. */
export function expectArgs(positionals: string[], names: string[], optional = 0): string[] {
  const min = names.length - optional;
  if (positionals.length < min) throw new UsageError(`missing argument <${names[positionals.length]}>`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  return positionals;
}

export function intFlag(name: string, v: string | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

export function boolFlag(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "true" || v === "on" || v === "yes") return true;
  if (v === "false" || v === "off" || v === "no") return false;
  throw new UsageError(`--${name} must be true or false, got "${v}"`);
}

/** Splits KEY=VALUE pairs; the error names the flag. */
export function keyValues(flag: string, items: string[]): [string, string][] {
  return items.map((kv) => {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} must be KEY=VALUE, got "${kv}"`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/** Prints JSON for scripts or the human rendering. */
export function emit(ctx: CommandContext, json: unknown, human: () => string) {
  ctx.out(ctx.settings.output === "json" ? JSON.stringify(json, null, 2) : human());
}
