import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createControl, type Control, type ControlOptions } from "../../control/control.ts";
import { openDatabase, type Database } from "../../control/db/open.ts";
import { assertEarlierFilesCleanedUp, trackResource } from "./leftovers.ts";
import { captureLogs, type LogEntry } from "./log-capture.ts";

export const TEST_TOKEN = "test-admin-token";

export interface TestControl {
  control: Control;
  db: Database;
  dir: string;
  /** Every line the control service logged (JSON, debug and up). */
  logs: string[];
  /** The same lines parsed. */
  logEntries(): LogEntry[];
  /** Calls the real HTTP API with the admin token; returns status and parsed JSON. */
  api<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface TestControlOptions {
  /** Reuse a data folder (restart tests); otherwise a temp folder removed on stop. */
  dir?: string;
  brokerPort?: number;
  httpPort?: number;
  /** Further control options (external broker, TLS, master key, ...). */
  extra?: Partial<ControlOptions>;
  /** Extra fetch options for api() calls (e.g. TLS settings). */
  fetchOptions?: Record<string, unknown>;
}

/** A real control service: libSQL file in a temp dir, embedded broker and HTTP on free ports. */
export async function startTestControl(opts: TestControlOptions = {}): Promise<TestControl> {
  await assertEarlierFilesCleanedUp();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "flotilla-control-"));
  const db = await openDatabase(`file:${join(dir, "flotilla.db")}`);
  const captured = captureLogs({ component: "control" });
  const logs = captured.lines;
  const control = await createControl({
    db,
    broker: { host: "127.0.0.1", port: opts.brokerPort ?? 0 },
    http: { host: "127.0.0.1", port: opts.httpPort ?? 0 },
    adminToken: TEST_TOKEN,
    log: captured.log,
    ...opts.extra,
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await control.stop();
      db.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    })());
  trackResource("control", `at ${control.httpUrl}`, () => stopped === undefined, stop);
  return {
    control,
    db,
    dir,
    logs,
    logEntries: captured.entries,
    async api(method, path, body, token = TEST_TOKEN) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(control.httpUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        ...opts.fetchOptions,
      } as RequestInit);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    stop,
  };
}
