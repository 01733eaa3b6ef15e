/** The log settings both processes take (--log-level, --log-format); apart from pino so config parsing loads no logger. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** --log-level and --log-format (or their environment variables) as a process's settings. */
export function parseLogSettings(
  level: string | undefined,
  format: string | undefined,
  fail: (message: string) => Error,
): { level: LogLevel; format?: LogFormat } {
  const l = (level ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(l)) throw fail(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
  if (format !== undefined && !(LOG_FORMATS as readonly string[]).includes(format)) throw fail(`--log-format must be json or pretty, got "${format}"`);
  return { level: l as LogLevel, format: format as LogFormat | undefined };
}
