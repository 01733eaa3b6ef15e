import type { Subprocess } from "bun";
import { join } from "node:path";
import { TEST_TOKEN, type TestControl } from "../../helpers/control.ts";
import { waitFor } from "../../helpers/wait.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");

export interface ControlProcess {
  id: string;
  httpUrl: string;
  /** Its MQTT URL as it logged it (its own broker node with a broker cluster). */
  mqttUrl?: string;
  output(): string;
  /** When the process printed a line matching re (ms since epoch), or undefined. */
  lineAt(re: RegExp): number | undefined;
  api: TestControl["api"];
  /** SIGSTOP / SIGCONT: a frozen VM or a long pause, as far as the others can tell. */
  pause(): void;
  resume(): void;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** A real `bun control/main.ts --ha` process on an external broker; resolves once its API listens. */
export async function startControlProcess(opts: {
  id: string;
  db: string;
  /** An external broker, or `{ cluster }`: its embedded node in a broker cluster through that Redis URL. */
  broker: { url: string; adminUser: string; adminPassword: string } | { cluster: string };
  masterKey: string;
  extraArgs?: string[];
}): Promise<ControlProcess> {
  const args = [
    "bun", join(ROOT, "control/main.ts"), "--ha", "--ha-id", opts.id, "--http-port", "0", "--metrics-listen", "127.0.0.1:0", "--bind", "127.0.0.1", "--db", opts.db,
    ...("cluster" in opts.broker
      ? ["--broker-cluster", opts.broker.cluster, "--mqtt-port", "0"]
      : ["--broker", "external", "--broker-url", opts.broker.url, "--broker-admin-user", opts.broker.adminUser, "--broker-admin-password", opts.broker.adminPassword]),
    ...(opts.extraArgs ?? []),
  ];
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(args, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: ROOT,
    env: { ...process.env, FLOTILLA_ADMIN_TOKEN: TEST_TOKEN, FLOTILLA_MASTER_KEY: opts.masterKey },
  });
  let out = "";
  const lines: { at: number; line: string }[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of s) {
      const text = dec.decode(chunk);
      out += text;
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      const at = Date.now();
      for (const line of parts) lines.push({ at, line });
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const httpUrl = await waitFor(`control ${opts.id} to listen`, () => {
    if (proc.exitCode !== null) throw new Error(`control ${opts.id} exited ${proc.exitCode}: ${out}`);
    return /listening: api (\S+)/.exec(out)?.[1];
  }, { timeoutMs: 30_000, intervalMs: 50 });
  return {
    id: opts.id,
    httpUrl,
    mqttUrl: /listening: api \S+ mqtt (mqtt[^\s"]+)/.exec(out)?.[1],
    output: () => out,
    lineAt: (re) => lines.find((l) => re.test(l.line))?.at,
    async api(method, path, body, token = TEST_TOKEN) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(httpUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    pause: () => void proc.kill("SIGSTOP"),
    resume: () => void proc.kill("SIGCONT"),
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** The TestControl shape the fleet helpers need (API calls and the broker URL agents use). */
export function asTestControl(c: ControlProcess, mqttUrl: string): TestControl {
  return { api: c.api, control: { mqttUrl, httpUrl: c.httpUrl } } as unknown as TestControl;
}
