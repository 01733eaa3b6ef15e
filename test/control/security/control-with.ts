import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createControl, type ControlOptions } from "../../../control/control.ts";
import { openDatabase } from "../../../control/db/open.ts";
import { TEST_TOKEN, type TestControl } from "../../helpers/control.ts";

/** startTestControl with extra control options (external broker, TLS, master key) and a log capture. */
export async function startControlWith(
  extra: Partial<ControlOptions>,
  fetchOptions: Record<string, unknown> = {},
): Promise<TestControl & { logs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-sec-"));
  const db = await openDatabase(`file:${join(dir, "flotilla.db")}`);
  const logs: string[] = [];
  const control = await createControl({
    db,
    broker: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    adminToken: TEST_TOKEN,
    log: (l) => logs.push(l),
    ...extra,
  });
  return {
    control,
    db,
    dir,
    logs,
    async api(method, path, body, token = TEST_TOKEN) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(control.httpUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        ...fetchOptions,
      } as RequestInit);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      await control.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
