import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..", "..");
export const BENCH_TOKEN = "bench-admin-token";

export interface ControlProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  httpUrl: string;
  mqttUrl: string;
  /** Calls the HTTP API with the admin token. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  output(): string;
  /** Log lines about refusals and errors (the first 40). */
  notable(): string[];
  stop(): Promise<void>;
}

/**
 * A separate `bun control/main.ts` process on a temp database and free ports, so its CPU and memory
 * can be read from /proc without the load generator mixed in.
 */
export async function startControlProcess(opts: { log?: boolean; args?: string[] } = {}): Promise<ControlProcess> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-control-"));
  const proc = Bun.spawn(
    // BENCH_CONTROL_BUN_ARGS="--cpu-prof" profiles the control process.
    ["bun", ...(process.env.BENCH_CONTROL_BUN_ARGS?.split(" ").filter(Boolean) ?? []), join(ROOT, "control/main.ts"), "--http-port", "0", "--mqtt-port", "0", "--metrics-listen", "127.0.0.1:0", "--db", `file:${join(dir, "flotilla.db")}`, ...(opts.args ?? [])],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, FLOTILLA_ADMIN_TOKEN: BENCH_TOKEN } },
  );
  // Keep only the head and tail of the log: a 10k fleet logs a line per registration.
  let head = "";
  let tail = "";
  // Lines that explain trouble (refused connections, handler errors), kept whole.
  const notable: string[] = [];
  let urls: { http: string; mqtt: string } | undefined;
  let onUrls: (() => void) | undefined;
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      const text = dec.decode(chunk);
      if (head.length < 4000) head += text;
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) if (notable.length < 40 && /refused|error|failed|timeout/i.test(line)) notable.push(line);
      if (opts.log) process.stderr.write(text);
      if (!urls) {
        const m = /listening: api (\S+) mqtt (\S+)/.exec(head);
        if (m) {
          urls = { http: m[1]!, mqtt: m[2]! };
          onUrls?.();
        }
      }
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  await Promise.race([
    new Promise<void>((resolve) => (onUrls = resolve)),
    proc.exited.then((code) => {
      throw new Error(`control exited with ${code} before listening:\n${head}`);
    }),
    Bun.sleep(30_000).then(() => {
      throw new Error(`control did not start within 30 s:\n${head}`);
    }),
  ]);
  const { http, mqtt } = urls!;
  return {
    proc,
    pid: proc.pid,
    httpUrl: http,
    mqttUrl: mqtt,
    output: () => `${head}\n...\n${tail}`,
    notable: () => notable,
    async api(method, path, body) {
      const res = await fetch(http + path, {
        method,
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
        if (!done) proc.kill("SIGKILL");
        await proc.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a cluster, an activation for `limit` registrations and a small task definition. */
export async function prepareCluster(control: ControlProcess, cluster: string, limit: number) {
  const c = await control.api("POST", "/v1/clusters", { clusterName: cluster });
  if (c.status >= 300) throw new Error(`create cluster: ${JSON.stringify(c.body)}`);
  const a = await control.api("POST", `/v1/clusters/${cluster}/activations`, { registrationLimit: Math.max(1, limit) });
  if (a.status !== 201) throw new Error(`create activation: ${JSON.stringify(a.body)}`);
  return a.body as { activationId: string; activationCode: string };
}

export async function registerTaskDefinition(control: ControlProcess, definition: unknown): Promise<string> {
  const r = await control.api("POST", "/v1/task-definitions", definition);
  if (r.status >= 300) throw new Error(`register task definition: ${JSON.stringify(r.body)}`);
  return (r.body.taskDefinition?.taskDefinitionArn ?? r.body.taskDefinitionArn) as string;
}
