import pino, { type DestinationStream, type Logger as PinoLogger } from "pino";
import type { LogFormat, LogLevel } from "./log-settings.ts";

/**
 * The one logger of both processes (control service and agent): pino, one JSON object a line on
 * stdout (level, time, component, msg, then the ids a line is about: cluster, instanceId, taskId,
 * requestId), or a human line when stdout is a terminal. Modules take a `Logger` through their
 * options and log with fields, never with a secret in the message (docs/operations.md, Logs).
 */
export type Logger = PinoLogger;
export { LOG_FORMATS, LOG_LEVELS, parseLogSettings, type LogFormat, type LogLevel } from "./log-settings.ts";

/**
 * Fields whose values never reach a line: the second guard behind "pass ids, not credentials".
 * Top-level names and headers only: a `*.name` wildcard per key made every line 3-4× slower
 * (scripts/bench/request-log.ts), and fields are passed at the top level.
 */
const SECRET_KEYS = [
  "token", "adminToken", "password", "passwd", "secret", "secrets", "secretValue", "authorization", "cookie",
  "credentials", "registryCredentials", "activationCode", "secretAccessKey", "sessionToken", "masterKey", "privateKey",
];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  "headers.authorization", "headers.cookie", "req.headers.authorization", "req.headers.cookie",
];
export const REDACTED = "[redacted]";

export interface LoggerOptions {
  /** What the root logger's lines name as their `component` ("control", "agent"). */
  component: string;
  level?: LogLevel;
  /** Default: pretty when stdout is a terminal, else JSON lines. */
  format?: LogFormat;
  /** Where lines go; default stdout, written synchronously so nothing is lost at exit. */
  destination?: { write(line: string): unknown };
  /** Colour in the pretty format; default: when stdout is a terminal and NO_COLOR is unset. */
  colorize?: boolean;
}

/** Children are made from this bare root, so a new `component` replaces the old one. */
const BARE = Symbol("flotilla.bareLogger");

export function defaultLogFormat(isTTY = Boolean(process.stdout.isTTY)): LogFormat {
  return isTTY ? "pretty" : "json";
}

/** The process's root logger; give modules `withComponent(log, "link")` and children with ids. */
export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.format ?? defaultLogFormat();
  // Synchronous (sonic-boom retries a full pipe rather than dropping or buffering without bound).
  const target = opts.destination ?? pino.destination({ dest: 1, sync: true });
  const destination: DestinationStream = format === "pretty" ? prettyStream(target, opts.colorize ?? (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)) : (target as DestinationStream);
  const bare = pino(
    {
      level: opts.level ?? "info",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    destination,
  );
  (bare as unknown as Record<symbol, Logger>)[BARE] = bare;
  return bare.child({ component: opts.component });
}

/**
 * The same logger under another component, keeping its ids: pino cannot unbind a field, and a
 * second `component` would repeat the key in the line, so the child is made from the bare root.
 */
export function withComponent(log: Logger, component: string): Logger {
  const bare = (log as unknown as Record<symbol, Logger | undefined>)[BARE];
  if (!bare) return log.child({ component });
  const { component: _was, ...ids } = log.bindings();
  return bare.child({ component, ...ids });
}

/** Logs nothing: the default of modules built without one (unit tests, tools). */
export const silentLogger: Logger = pino({ level: "silent" });

/** pino-pretty's formatter run in this thread (its stream form is asynchronous and loses the last lines at exit). */
function prettyStream(target: { write(line: string): unknown }, colorize: boolean): DestinationStream {
  // Loaded only for the pretty format: a JSON-logging agent does not carry the formatter in memory.
  const { prettyFactory } = require("pino-pretty") as typeof import("pino-pretty");
  const format = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "component",
    messageFormat: (entry, messageKey) => `${entry.component ? `${String(entry.component)}: ` : ""}${String(entry[messageKey] ?? "")}`,
  });
  return { write: (line: string) => void target.write(format(line)) };
}
