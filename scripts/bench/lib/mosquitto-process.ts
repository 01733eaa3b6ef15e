import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

export interface MosquittoProcess {
  pid: number;
  url: string;
  adminUser: string;
  adminPassword: string;
  /** The dynamic-security file the plugin rewrites on every change (its size says how much each save costs). */
  dynsecFile: string;
  dynsecBytes(): number;
  /** Lines of the broker's log (its head and tail). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Debian's Mosquitto 2 with the dynamic-security plugin on a free port, configured as
 * docs/operations.md describes (no persistence: a benchmark starts empty), for the fleet benchmark
 * with `--broker mosquitto`. The file limit is raised to the hard limit for ten thousand agents.
 */
export async function startMosquitto(opts: { prepareDynsec?: (config: { clients: unknown[]; roles: unknown[] }) => void } = {}): Promise<MosquittoProcess> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-mosquitto-"));
  const adminUser = "dynsec-admin";
  const adminPassword = crypto.randomUUID();
  const dynsecFile = join(dir, "dynamic-security.json");
  const init = Bun.spawnSync(["mosquitto_ctrl", "dynsec", "init", dynsecFile, adminUser, adminPassword]);
  if (init.exitCode !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr.toString()}`);
  if (opts.prepareDynsec) {
    // Start from a config that already holds entries (the admin's own, from init, stay).
    const config = JSON.parse(readFileSync(dynsecFile, "utf8"));
    opts.prepareDynsec(config);
    writeFileSync(dynsecFile, JSON.stringify(config, null, "\t"));
  }
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      // As root Mosquitto would switch to the "mosquitto" user, who cannot read the temp dir.
      `user ${process.getuid?.() === 0 ? "root" : userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      "max_connections -1",
      // Without it small replies wait on Nagle's algorithm and the peer's delayed ACK: ~40 ms per
      // dynamic-security command round trip and per desired-set delivery on this loopback.
      "set_tcp_nodelay true",
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsecFile}`,
      "persistence false",
      // Connection notices only: a line per client at -v would cost the broker more than the fleet.
      "log_type error",
      "log_type warning",
      "log_type notice",
      "",
    ].join("\n"),
  );
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["sh", "-c", `ulimit -n "$(ulimit -Hn)"; exec mosquitto -c "$0"`, conf], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let head = "";
  let tail = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      const text = dec.decode(chunk);
      if (head.length < 4000) head += text;
      tail = (tail + text).slice(-4000);
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("connect", () => (sock.destroy(), resolve(true)));
      sock.once("error", () => resolve(false));
    });
    if (up) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start:\n${head}`);
    await Bun.sleep(50);
  }
  return {
    pid: proc.pid,
    url: `mqtt://127.0.0.1:${port}`,
    adminUser,
    adminPassword,
    dynsecFile,
    dynsecBytes: () => {
      try {
        return statSync(dynsecFile).size;
      } catch {
        return 0;
      }
    },
    output: () => `${head}\n...\n${tail}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
        if (!done) proc.kill("SIGKILL");
        await proc.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
