import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { waitFor } from "../../helpers/wait.ts";

export const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

export interface Mosquitto {
  url: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A real Mosquitto 2 with the dynamic-security plugin on 127.0.0.1:<free port>, config in a temp dir. */
export async function startMosquitto(): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-mosquitto-"));
  const adminUser = "dynsec-admin";
  const adminPassword = crypto.randomUUID();
  const dynsec = join(dir, "dynsec.json");
  const init = Bun.spawnSync(["mosquitto_ctrl", "dynsec", "init", dynsec, adminUser, adminPassword]);
  if (init.exitCode !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr.toString()}`);
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    // Run as ourselves: as root Mosquitto would otherwise switch to "mosquitto", who cannot read the temp dir.
    [`user ${process.getuid?.() === 0 ? "root" : userInfo().username}`, `listener ${port} 127.0.0.1`, "allow_anonymous false", `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${dynsec}`, "persistence false", ""].join("\n"),
  );
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["mosquitto", "-c", conf, "-v"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  await waitFor("mosquitto to listen", () =>
    new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("connect", () => (sock.destroy(), resolve(true)));
      sock.once("error", () => resolve(false));
    }),
    { timeoutMs: 10_000 },
  );
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    adminUser,
    adminPassword,
    output: () => out,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
