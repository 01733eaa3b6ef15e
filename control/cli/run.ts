import { closest } from "../../shared/task-definition/index.ts";
import { ApiClient } from "./client.ts";
import { commandHelp, parseCommandArgs, resourceHelp, splitCommandLine, type CommandContext, type Resource } from "./command.ts";
import { completion } from "./commands/completion.ts";
import { config } from "./commands/config.ts";
import { ApiError, CommandFailed, UsageError } from "./errors.ts";
import { RESOURCES } from "./registry.ts";
import { resolveSettings, type Settings } from "./settings.ts";
import { CLI_VERSION } from "./version.ts";

/** "unknown X" with the closest known name, or the list when none is close. */
function unknownName(what: string, name: string, known: string[]): UsageError {
  const guess = closest(name, known);
  return new UsageError(`unknown ${what} "${name}"${guess ? `; did you mean "${guess}"?` : ` (one of: ${known.join(", ")})`}`);
}

export function topHelp(resources: Resource[]): string {
  const w = Math.max(...resources.map((r) => r.name.length));
  return [
    "Usage: flotilla <resource> <command> [options]",
    "",
    "Drives a Flotilla control service over its HTTP API.",
    "",
    "Resources:",
    ...resources.map((r) => `  ${r.name.padEnd(w)}  ${r.summary}`),
    "",
    "Global options (anywhere on the line): --api URL, --token TOKEN, -c/--cluster NAME, -o/--output table|json|yaml,",
    "  --profile NAME, -h/--help, --version",
    "Settings come from flags, then FLOTILLA_API_URL / FLOTILLA_TOKEN / FLOTILLA_CLUSTER, then the config file",
    "~/.config/flotilla/config.json (FLOTILLA_CONFIG overrides the path): its context named by --profile,",
    "FLOTILLA_PROFILE or currentContext (see 'flotilla config'), else its top-level api/token/cluster.",
    "",
    "Exit codes: 0 success, 1 API error or failed outcome, 2 bad usage.",
  ].join("\n");
}

export interface RunIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  tty: boolean;
  signal: AbortSignal;
  /** The HTTP client (tests route it to an in-process API); default the global fetch. */
  fetch?: typeof fetch;
}

/** Runs one CLI invocation; returns the exit code. Never throws for expected failures. */
export async function runCli(argv: string[], io: RunIo, resources = RESOURCES): Promise<number> {
  const fail = (msg: string, code: number) => {
    io.err(`flotilla: ${msg.replace(/\s*\n\s*/g, " ")}\n`);
    return code;
  };
  try {
    const all = [...resources, config, completion([...resources, config])];
    const { words, rest } = splitCommandLine(argv);
    const [resName, verb] = words;
    if (!resName && rest.includes("--version")) {
      io.out(`flotilla ${CLI_VERSION}\n`);
      return 0;
    }
    if (!resName || resName === "help") {
      io.out(topHelp(all) + "\n");
      return resName || rest.includes("-h") || rest.includes("--help") ? 0 : 2;
    }
    const resource = all.find((r) => r.name === resName);
    if (!resource) throw unknownName("resource", resName, all.map((r) => r.name));
    // A resource with a default command (`aws-env`) runs it when no known verb follows.
    const single = resource.default !== undefined && (!verb || !resource.commands[verb]);
    if (!single && !verb) {
      io.out(resourceHelp(resource) + "\n");
      return rest.includes("-h") || rest.includes("--help") ? 0 : 2;
    }
    const cmd = single ? resource.default! : resource.commands[verb!];
    if (!cmd) throw unknownCommand(resName, verb!, Object.keys(resource.commands));
    // A default command takes the whole line but its resource word: a flag's value after the
    // resource (`aws-env --region eu-west-1`) was read as a verb by splitCommandLine.
    const at = argv.indexOf(resName);
    const { values, positionals } = parseCommandArgs(cmd, single ? [...argv.slice(0, at), ...argv.slice(at + 1)] : rest);
    if (values.help) {
      io.out(commandHelp(resName, single ? "" : verb!, cmd) + "\n");
      return 0;
    }
    const settings = cmd.offline ? offlineSettings(values, io.env) : resolveSettings(values, io.env);
    const ctx: CommandContext = {
      client: new ApiClient(settings.api, settings.token, io.fetch),
      settings,
      out: (t) => io.out(t.endsWith("\n") || t === "" ? t : `${t}\n`),
      err: io.err,
      tty: io.tty,
      signal: io.signal,
      env: io.env,
    };
    return (await cmd.run(ctx, { values, positionals })) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(`${e.message} (see --help)`, 2);
    if (e instanceof ApiError) return fail(e.message, 1);
    if (e instanceof CommandFailed) return fail(e.message, e.exitCode);
    return fail(`unexpected error: ${(e as Error).message}`, 1);
  }
}

function unknownCommand(resName: string, verb: string, known: string[]): UsageError {
  const guess = closest(verb, known);
  return new UsageError(`unknown command "${resName} ${verb}"${guess ? `; did you mean "${resName} ${guess}"?` : ` (one of: ${known.join(", ")})`}`);
}

/** Offline commands (config, completion) still run when the config file points at a missing context. */
function offlineSettings(values: Record<string, any>, env: Record<string, string | undefined>): Settings {
  try {
    return resolveSettings(values, env);
  } catch {
    return { api: "http://127.0.0.1:8080", cluster: "default", output: values.output === "json" || values.output === "yaml" ? values.output : "table" };
  }
}
