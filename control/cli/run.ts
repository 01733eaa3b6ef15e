import { ApiClient } from "./client.ts";
import { commandHelp, parseCommandArgs, resourceHelp, type CommandContext, type Resource } from "./command.ts";
import { ApiError, CommandFailed, UsageError } from "./errors.ts";
import { RESOURCES } from "./registry.ts";
import { resolveSettings } from "./settings.ts";

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
    "Global options: --api URL, --token TOKEN, -c/--cluster NAME, -o/--output table|json, -h/--help",
    "Settings come from flags, then FLOTILLA_API_URL / FLOTILLA_TOKEN / FLOTILLA_CLUSTER, then",
    "~/.config/flotilla/config.json ({\"api\": ..., \"token\": ..., \"cluster\": ...}; FLOTILLA_CONFIG overrides the path).",
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
}

/** Runs one CLI invocation; returns the exit code. Never throws for expected failures. */
export async function runCli(argv: string[], io: RunIo, resources = RESOURCES): Promise<number> {
  const fail = (msg: string, code: number) => {
    io.err(`flotilla: ${msg.replace(/\s*\n\s*/g, " ")}\n`);
    return code;
  };
  try {
    const [resName, verb, ...rest] = argv;
    if (!resName || resName === "-h" || resName === "--help" || resName === "help") {
      io.out(topHelp(resources) + "\n");
      return resName ? 0 : 2;
    }
    const resource = resources.find((r) => r.name === resName);
    if (!resource) throw new UsageError(`unknown resource "${resName}" (one of: ${resources.map((r) => r.name).join(", ")})`);
    const single = resource.default && (!verb || verb.startsWith("-") || !resource.commands[verb]);
    if (!single && (!verb || verb === "-h" || verb === "--help")) {
      io.out(resourceHelp(resource) + "\n");
      return verb ? 0 : 2;
    }
    const cmd = single ? resource.default! : resource.commands[verb!];
    if (!cmd) throw new UsageError(`unknown command "${resName} ${verb}" (one of: ${Object.keys(resource.commands).join(", ")})`);
    const { values, positionals } = parseCommandArgs(cmd, single ? argv.slice(1) : rest);
    if (values.help) {
      io.out(commandHelp(resName, single ? "" : verb!, cmd) + "\n");
      return 0;
    }
    const settings = resolveSettings(values, io.env);
    const ctx: CommandContext = {
      client: new ApiClient(settings.api, settings.token),
      settings,
      out: (t) => io.out(t.endsWith("\n") || t === "" ? t : `${t}\n`),
      err: io.err,
      tty: io.tty,
      signal: io.signal,
    };
    return (await cmd.run(ctx, { values, positionals })) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(`${e.message} (see --help)`, 2);
    if (e instanceof ApiError) return fail(e.message, 1);
    if (e instanceof CommandFailed) return fail(e.message, e.exitCode);
    return fail(`unexpected error: ${(e as Error).message}`, 1);
  }
}
