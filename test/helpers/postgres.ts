import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import pg from "pg";
import { assertEarlierFilesCleanedUp, trackResource } from "./leftovers.ts";
import { waitFor } from "./wait.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

/**
 * A private PostgreSQL cluster for one test file: `initdb` into a temp dir, `postgres` listening
 * on 127.0.0.1 on a free port (and a unix socket inside that dir, never /var/run/postgresql),
 * trust authentication for its one superuser `flotilla` (nothing else can reach 127.0.0.1:port
 * from outside this host). PostgreSQL refuses to run as root, so the server runs as the `postgres`
 * system user Debian's package creates (`setpriv` execs it directly, so the pid we hold is the
 * postmaster's own). Durability is off (fsync, synchronous_commit, full_page_writes): the data
 * lives only as long as the file, and the machine is shared.
 *
 * `createDatabase()` gives each test a fresh database; `stop()` shuts the server down (fast
 * mode: open connections are cut) and deletes the directory.
 */
export interface TestPostgres {
  port: number;
  /** postgres://flotilla@127.0.0.1:PORT/NAME */
  url(database: string): string;
  /** Creates an empty database (a fresh name each call unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const SERVER_USER = "postgres";
const SUPERUSER = "flotilla";

/** The newest server binaries Debian installed (/usr/lib/postgresql/N/bin). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error("no PostgreSQL server under /usr/lib/postgresql (run scripts/lib/ensure-test-tools.sh)");
  return join(root, versions[0]!, "bin");
}

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${(err || out).trim()}`);
  return out;
}

/** Runs `cmd` as the postgres system user (as root) or as ourselves (when not root). */
function asServerUser(cmd: string[]): string[] {
  if (process.getuid?.() !== 0) return cmd;
  return ["setpriv", `--reuid=${SERVER_USER}`, `--regid=${SERVER_USER}`, "--init-groups", "--", ...cmd];
}

function serverUserIds(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${SERVER_USER}:`));
  if (!line) throw new Error(`no ${SERVER_USER} system user (Debian's postgresql package creates it)`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(): Promise<TestPostgres> {
  await assertEarlierFilesCleanedUp();
  const bin = postgresBinDir();
  // Short: the unix socket lives in here and socket paths are ≤ 107 bytes.
  const dir = mkdtempSync("/tmp/fl-pg-");
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  if (process.getuid?.() === 0) {
    const { uid, gid } = serverUserIds();
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const log = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-3000);
    } catch {
      return "";
    }
  };
  let proc: Subprocess | undefined;
  const cleanup = async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGINT"); // fast shutdown: disconnects clients, no waiting for them
      await Promise.race([proc.exited, Bun.sleep(10_000)]);
      if (proc.exitCode === null) {
        proc.kill("SIGQUIT");
        await proc.exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(asServerUser([join(bin, "initdb"), "-D", data, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]));
    const port = await freePort();
    const file = Bun.file(logFile);
    await Bun.write(file, "");
    if (process.getuid?.() === 0) chownSync(logFile, serverUserIds().uid, serverUserIds().gid);
    proc = Bun.spawn(
      asServerUser([
        join(bin, "postgres"),
        "-D", data,
        "-p", String(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", `unix_socket_directories=${dir}`,
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "shared_buffers=32MB",
        "-c", "max_connections=100",
      ]),
      { stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile) },
    );
    const url = (database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    await waitFor(
      "PostgreSQL to accept connections",
      async () => {
        if (proc!.exitCode !== null) throw new Error(`postgres exited (${proc!.exitCode}): ${log()}`);
        const c = new pg.Client({ connectionString: url("postgres") });
        try {
          await c.connect();
          await c.query("select 1");
          return true;
        } finally {
          await c.end().catch(() => {});
        }
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    let n = 0;
    // Recorded like agents and control services (leftovers.ts): a file that forgets stop() is named.
    trackResource("postgres", `PostgreSQL on 127.0.0.1:${port}`, () => proc!.exitCode === null, cleanup);
    return {
      port,
      url,
      log,
      async createDatabase(name) {
        const db = name ?? `t${process.pid}_${++n}`;
        const c = new pg.Client({ connectionString: url("postgres") });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE "${db.replaceAll('"', '""')}"`);
        } finally {
          await c.end();
        }
        return url(db);
      },
      stop: cleanup,
    };
  } catch (e) {
    const tail = log();
    await cleanup();
    throw tail ? new Error(`${(e as Error).message}\n${tail}`) : e;
  }
}
