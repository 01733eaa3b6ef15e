import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker } from "./docker.ts";
import { waitFor } from "./wait.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

export interface TestRegistry {
  /** host:port, as image references name it. */
  host: string;
  username: string;
  password: string;
  /** Pushes a local image into the registry under `name` and removes the local tag again. */
  push(localImage: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real private registry: Debian's docker-registry with htpasswd (bcrypt) auth on 127.0.0.1,
 * which Docker treats as an insecure (plain HTTP) registry by default.
 */
export async function startTestRegistry(username = "flotilla", password = "s3cret-pass"): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-registry-"));
  const htpasswd = Bun.spawnSync(["htpasswd", "-Bbn", username, password]);
  if (htpasswd.exitCode !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr.toString()}`);
  writeFileSync(join(dir, "htpasswd"), htpasswd.stdout);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, "config.yml"),
    [
      "version: 0.1",
      "log: {level: warn}",
      `storage: {filesystem: {rootdirectory: ${join(dir, "data")}}}`,
      `http: {addr: "${host}"}`,
      `auth: {htpasswd: {realm: flotilla-test, path: ${join(dir, "htpasswd")}}}`,
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn(["docker-registry", "serve", join(dir, "config.yml")], { stdout: "ignore", stderr: "pipe" });
  await waitFor("the registry to answer", async () => (await fetch(`http://${host}/v2/`).catch(() => null))?.status === 401, { timeoutMs: 10_000 });
  // The docker CLI logs in with its own config dir, leaving the operator's ~/.docker alone.
  const env = { ...process.env, DOCKER_CONFIG: join(dir, "docker-config") };
  const cli = async (args: string[], stdin?: string) => {
    const p = Bun.spawn(["docker", ...args], { env, stdin: stdin ? new TextEncoder().encode(stdin) : "ignore", stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${err.trim()}`);
  };
  await cli(["login", "-u", username, "--password-stdin", host], password);
  return {
    host,
    username,
    password,
    async push(localImage, name) {
      const ref = `${host}/${name}`;
      await docker("tag", localImage, ref);
      await cli(["push", ref]);
      await docker("rmi", ref);
      return ref;
    },
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SilentRegistry {
  host: string;
  /** Connections accepted and still open (none of them ever gets an answer). */
  open(): number;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): void;
}

/**
 * A registry that never answers: accepts TCP connections, reads the request and says nothing —
 * the worst case for a registry look-up (a firewall that drops, a hung proxy).
 */
export function startSilentRegistry(): SilentRegistry {
  const sockets = new Set<unknown>();
  let accepted = 0;
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        accepted++;
        sockets.add(s);
      },
      data() {},
      close(s) {
        sockets.delete(s);
      },
    },
  });
  return {
    host: `127.0.0.1:${server.port}`,
    open: () => sockets.size,
    accepted: () => accepted,
    stop: () => server.stop(true),
  };
}
