import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface RedisProcess {
  pid: number;
  /** redis://127.0.0.1:PORT, what --broker-cluster takes. */
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** One PING round trip: true once the server answers +PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

/**
 * Debian's redis-server on 127.0.0.1 and a free port, in a temp dir, nothing saved to disk: the
 * shared state of a clustered embedded broker (control/broker/cluster.ts) for tests and
 * benchmarks. Resolves once it answers PING.
 */
export async function startRedis(): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-redis-"));
  const port = await freePort();
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out = (out + dec.decode(chunk)).slice(-20_000);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
        if (!exited) proc.kill("SIGKILL");
        await proc.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  const deadline = Date.now() + 10_000;
  while (!(await pings(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}: ${out}`);
    }
    await Bun.sleep(50);
  }
  return { pid: proc.pid, url: `redis://127.0.0.1:${port}`, port, output: () => out, stop };
}
