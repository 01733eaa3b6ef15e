import { parseArgs, type ParseArgsConfig } from "node:util";
import type { ApiClient } from "./client.ts";
import { closest } from "../../shared/task-definition/index.ts";
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
  /** The process environment (the `config` commands find the config file through it). */
  env?: Record<string, string | undefined>;
}

export interface Command {
  summary: string;
  /** Positional arguments as shown in usage, e.g. "<cluster>". */
  args?: string;
  options?: Record<string, OptionSpec>;
  /** Examples shown under --help. */
  examples?: string[];
  /** Runs without the API (config, completion): a broken config file does not stop it. */
  offline?: boolean;
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
  profile: { type: "string", valueName: "NAME", description: "named context from the config file [FLOTILLA_PROFILE, config currentContext]" },
  output: { type: "string", short: "o", valueName: "FORMAT", description: "table (default), json or yaml" },
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

/**
 * `--flag -1` → `--flag=-1` for flags that take a value: node's parser otherwise refuses a value
 * that starts with a dash as "ambiguous", and the user meant the number.
 */
function joinDashValues(argv: string[], options: Record<string, OptionSpec>): string[] {
  const byShort = new Map(Object.entries(options).flatMap(([k, o]) => (o.short ? [[o.short, k] as const] : [])));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : /^-[a-zA-Z]$/.test(a) ? byShort.get(a.slice(1)) : undefined;
    if (name && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** node's parser messages in the CLI's terms: the flag, what is wrong, a suggestion. */
function parseArgsMessage(e: Error & { code?: string }, options: Record<string, OptionSpec>): string {
  const msg = e.message;
  const flag = /'(?:-\w, )?(--?[\w-]+)/.exec(msg)?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
    const guess = flag.startsWith("--") ? closest(flag.slice(2), Object.keys(options)) : undefined;
    return `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ""}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    if (/argument missing/.test(msg)) return `${flag} needs a value`;
    if (/does not take an argument/.test(msg)) return `${flag} takes no value`;
    return `${flag} has an invalid value`;
  }
  return msg.split("\n")[0]!.replace(/\. To specify a positional.*$/, "");
}

/** Parses a command's flags plus the global ones; any unknown flag is a UsageError (exit 2). */
export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options = { ...GLOBAL_OPTIONS, ...(cmd.options ?? {}) };
  const spec: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [k, { description: _d, valueName: _v, ...o }] of Object.entries(options)) spec[k] = o;
  try {
    const { values, positionals } = parseArgs({ args: joinDashValues(argv, options), options: spec, allowPositionals: true, strict: true });
    return { values: values as Record<string, any>, positionals };
  } catch (e) {
    throw new UsageError(parseArgsMessage(e as Error, options));
  }
}

/**
 * Splits a command line into the resource and verb words and everything else, so global flags may
 * come first (`flotilla -o json clusters list`) as with aws and kubectl. A global flag's value is
 * skipped, never taken for a word.
 */
export function splitCommandLine(argv: string[]): { words: string[]; rest: string[] } {
  const byShort = new Map(Object.entries(GLOBAL_OPTIONS).flatMap(([k, o]) => (o.short ? [[o.short, k] as const] : [])));
  const words: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a.startsWith("-") && a !== "-") {
      rest.push(a);
      const name = a.startsWith("--") ? (a.includes("=") ? undefined : a.slice(2)) : a.length === 2 ? byShort.get(a.slice(1)) : undefined;
      if (name && GLOBAL_OPTIONS[name]?.type === "string" && i + 1 < argv.length) rest.push(argv[++i]!);
      continue;
    }
    if (words.length < 2) words.push(a);
    else rest.push(a);
  }
  return { words, rest };
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
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be a whole number ${range}, got "${v}"`);
  }
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

/** Prints JSON (or YAML) for scripts or the human rendering. */
export function emit(ctx: CommandContext, json: unknown, human: () => string) {
  const o = ctx.settings.output;
  // YAML through Bun's own serializer (no dependency): the same objects as JSON, for people.
  ctx.out(o === "json" ? JSON.stringify(json, null, 2) : o === "yaml" ? Bun.YAML.stringify(json ?? null, null, 2) : human());
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A point in time for `--since`: a relative age (`90s`, `10m`, `2h`, `1d`, as kubectl and
 * docker accept), RFC 3339, or Unix seconds. Returned as the API takes it.
 */
export function sinceFlag(name: string, v: string | undefined, now = Date.now()): string | undefined {
  if (v === undefined) return undefined;
  const rel = /^(\d+)([smhd])$/.exec(v);
  if (rel) return String(Math.floor(now / 1000) - Number(rel[1]) * UNIT_SECONDS[rel[2]!]!);
  if (/^\d+$/.test(v) || !Number.isNaN(Date.parse(v))) return v;
  throw new UsageError(`--${name} must be an age like 10m, 2h, 1d, an RFC 3339 time or Unix seconds, got "${v}"`);
}

/** One or more ids from the positionals (`tasks stop A B`); the error names the argument. */
export function expectIds(positionals: string[], name: string): string[] {
  if (positionals.length === 0) throw new UsageError(`missing argument <${name}>`);
  return positionals;
}
