import { createLogger, type Logger, type LogLevel } from "../../shared/log.ts";

export interface LogEntry {
  level: string;
  time: string;
  component: string;
  msg: string;
  [field: string]: unknown;
}

export interface CapturedLogs {
  /** A real logger (shared/log.ts, JSON format) writing into `lines`. */
  log: Logger;
  /** Every line as written (JSON text, newline trimmed). */
  lines: string[];
  /** The lines parsed. */
  entries(): LogEntry[];
  /** Just the messages, in order. */
  messages(): string[];
}

/** Captures what a part logs, through the same logger the processes use. */
export function captureLogs(opts: { component?: string; level?: LogLevel } = {}): CapturedLogs {
  const lines: string[] = [];
  const log = createLogger({ component: opts.component ?? "test", level: opts.level ?? "debug", format: "json", destination: { write: (s: string) => void lines.push(s.trimEnd()) } });
  const entries = () => lines.map((l) => JSON.parse(l) as LogEntry);
  return { log, lines, entries, messages: () => entries().map((e) => e.msg) };
}

/** The JSON log lines in a process's output (stdout and stderr together), parsed; other lines skipped. */
export function logEntriesOf(output: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // a line cut short by the process being killed
    }
  }
  return entries;
}
