import { spawnCollecting } from "./spawn-collecting.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TestControl } from "./control.ts";
import { assertEarlierFilesCleanedUp, trackResource } from "./leftovers.ts";
import { waitFor } from "./wait.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface ControlProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  httpUrl: string;
  mqttUrl: string;
  /** Everything it printed, stdout and stderr interleaved as they came. */
  output(): string;
  /** The TestControl shape the fleet helpers take (API calls with `token`, the broker URL). */
  asTestControl(): TestControl;
  stop(): Promise<void>;
}

/**
 * A real `bun control/main.ts` (embedded broker, a libSQL file in a temp dir, free ports), started
 * with `token` as FLOTILLA_ADMIN_TOKEN; resolves once its listening line names its URLs.
 */
export async function startControlProcess(opts: { token: string; args?: string[]; env?: Record<string, string> }): Promise<ControlProcess> {
  await assertEarlierFilesCleanedUp();
  const dir = mkdtempSync(join(tmpdir(), "flotilla-control-proc-"));
  const args = ["bun", join(ROOT, "control/main.ts"), "--http-port", "0", "--mqtt-port", "0", "--bind", "127.0.0.1", "--db", `file:${join(dir, "flotilla.db")}`, ...(opts.args ?? [])];
  const { proc, output, running } = spawnCollecting(args, {
    cwd: ROOT,
    env: { ...process.env, FLOTILLA_ADMIN_TOKEN: opts.token, FLOTILLA_MASTER_KEY_FILE: join(dir, "master.key"), ...opts.env },
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (running()) {
        proc.kill("SIGTERM");
        const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
        if (!exited) proc.kill("SIGKILL");
        await proc.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  trackResource("control", `pid ${proc.pid} (data dir ${dir})`, running, stop);
  const [httpUrl, mqttUrl] = await waitFor("the control process to listen", () => {
    if (!running()) throw new Error(`the control process exited (${proc.exitCode ?? proc.signalCode}): ${output()}`);
    const m = /listening: api (http\S+) mqtt (mqtt[^\s"]+)/.exec(output());
    return m ? [m[1]!, m[2]!] : undefined;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  const api: TestControl["api"] = async (method, path, body, token = opts.token) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(httpUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    proc,
    httpUrl,
    mqttUrl,
    output,
    asTestControl: () => ({ api, control: { httpUrl, mqttUrl } }) as unknown as TestControl,
    stop,
  };
}
