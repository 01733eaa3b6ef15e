import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import { migratePostgres } from "../../../control/db/open-postgres.ts";
import { startPostgres, type TestPostgres } from "../../helpers/postgres.ts";
import { waitFor } from "../../helpers/wait.ts";

// The PostgreSQL behaviour the planned commit path rests on (docs/postgres.md, "The commit path on
// PostgreSQL"), shown on a real server with the real schema: the statements the plan names, run
// from separate connections as separate control processes would. Not yet the control's code.

let server: TestPostgres;
let url: string;
const clients: pg.Client[] = [];

async function connect(): Promise<pg.Client & { pid: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  const { rows } = await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return Object.assign(c, { pid: rows[0]!.pid });
}

/** Resolves once connection `pid` is waiting for a lock (its statement is blocked, not just slow). */
async function blockedOnLock(admin: pg.Client, pid: number): Promise<void> {
  await waitFor(`backend ${pid} to wait on a lock`, async () => {
    const { rows } = await admin.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [pid]);
    return rows[0]?.wait_event_type === "Lock";
  });
}

const CLAIM = `UPDATE container_instances SET used_cpu = used_cpu + $2, version = version + 1
  WHERE id = $1 AND version = $3 AND status = 'ACTIVE' AND agent_connected AND used_cpu + $2 <= registered_cpu
  RETURNING version`;
const FENCE = "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND token = $3";
// control/leader/lease.ts's acquisition, as written there (valid PostgreSQL unchanged).
const ACQUIRE = `INSERT INTO leases (name, holder, token, expires_at, acquired_at, renewed_at)
  VALUES ($1, $2, 1, $3, $4, $4)
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder, token = leases.token + 1, expires_at = excluded.expires_at,
    acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at
  WHERE leases.expires_at <= $4
  RETURNING token`;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
  await migratePostgres(url);
  const c = await connect();
  await c.query(
    `INSERT INTO container_instances (id, cluster_name, arn, status, activation_id, credential_hash, hostname, agent_connected,
       registered_cpu, registered_memory, used_ports, attributes, version_info, registered_at)
     VALUES ('i-1', 'default', 'arn:i-1', 'ACTIVE', 'a', 'h', 'host', true, 1000, 4096, '{"tcp":[],"udp":[]}', '{}', '{}', 1)`,
  );
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await server?.stop();
});

describe("the versioned claim on PostgreSQL (READ COMMITTED)", () => {
  test("a claim made with the version another transaction is replacing waits for it, then matches nothing", async () => {
    const admin = await connect();
    const a = await connect();
    const b = await connect();
    const { rows } = await admin.query<{ version: string }>("SELECT version FROM container_instances WHERE id = 'i-1'");
    const seen = Number(rows[0]!.version);
    await a.query("BEGIN");
    expect((await a.query(CLAIM, ["i-1", 100, seen])).rowCount).toBe(1);
    await b.query("BEGIN");
    const late = b.query(CLAIM, ["i-1", 100, seen]);
    await blockedOnLock(admin, b.pid);
    await a.query("COMMIT");
    // Re-checked against the row A committed: its version moved on, so B claimed nothing ("conflict": place again).
    expect((await late).rowCount).toBe(0);
    await b.query("COMMIT");
    const after = await admin.query("SELECT used_cpu, version FROM container_instances WHERE id = 'i-1'");
    expect(after.rows[0]).toEqual({ used_cpu: "100", version: String(seen + 1) });
  });

  test("eight processes claiming in a loop never take more than the instance has", async () => {
    const admin = await connect();
    await admin.query("UPDATE container_instances SET used_cpu = 0 WHERE id = 'i-1'");
    const workers = await Promise.all(Array.from({ length: 8 }, () => connect()));
    let claimed = 0;
    await Promise.all(
      workers.map(async (w) => {
        for (;;) {
          const { rows } = await w.query<{ version: string; used_cpu: string }>("SELECT version, used_cpu FROM container_instances WHERE id = 'i-1'");
          if (Number(rows[0]!.used_cpu) + 100 > 1000) return; // placement: no room left
          await w.query("BEGIN");
          const r = await w.query(CLAIM, ["i-1", 100, Number(rows[0]!.version)]);
          await w.query("COMMIT");
          if (r.rowCount === 1) claimed++;
        }
      }),
    );
    const { rows } = await admin.query("SELECT used_cpu FROM container_instances WHERE id = 'i-1'");
    expect(rows[0].used_cpu).toBe("1000");
    expect(claimed).toBe(10);
  });
});

describe("the fence on PostgreSQL", () => {
  test("checked FOR SHARE, a takeover waits until the deposed leader's transaction has ended; after it, the fence fails", async () => {
    const admin = await connect();
    await admin.query("INSERT INTO leases VALUES ('fence-share', 'old', 1, 0, 0, 0)"); // expired: the old leader does not know yet
    const old = await connect();
    const next = await connect();
    await old.query("BEGIN");
    expect((await old.query(`${FENCE} FOR SHARE`, ["fence-share", "old", 1])).rowCount).toBe(1);
    const takeover = next.query(ACQUIRE, ["fence-share", "new", 10_000, 5_000]);
    await blockedOnLock(admin, next.pid);
    await old.query("UPDATE container_instances SET hostname = 'written-by-old' WHERE id = 'i-1'");
    await old.query("COMMIT");
    expect((await takeover).rows).toEqual([{ token: "2" }]);
    // The old leader's next transaction is refused by the same check.
    await old.query("BEGIN");
    expect((await old.query(`${FENCE} FOR SHARE`, ["fence-share", "old", 1])).rowCount).toBe(0);
    await old.query("ROLLBACK");
  });

  test("without FOR SHARE a takeover commits in the middle of the deposed leader's transaction (why the plan needs it)", async () => {
    const admin = await connect();
    await admin.query("INSERT INTO leases VALUES ('fence-plain', 'old', 1, 0, 0, 0)");
    const old = await connect();
    const next = await connect();
    await old.query("BEGIN");
    expect((await old.query(FENCE, ["fence-plain", "old", 1])).rowCount).toBe(1);
    expect((await next.query(ACQUIRE, ["fence-plain", "new", 10_000, 5_000])).rows).toEqual([{ token: "2" }]);
    await old.query("UPDATE container_instances SET hostname = 'late-write' WHERE id = 'i-1'");
    await old.query("COMMIT"); // lands after the takeover: SQLite's single writer rules this out, PostgreSQL does not
    const { rows } = await admin.query("SELECT hostname FROM container_instances WHERE id = 'i-1'");
    expect(rows[0].hostname).toBe("late-write");
  });
});

describe("event ids on PostgreSQL", () => {
  const INSERT_EVENT = "INSERT INTO events (time, detail_type, body) VALUES (1, 'x', '{}') RETURNING id";

  test("a sequence alone lets a higher id commit first (a stream resuming by id would skip the lower one)", async () => {
    const a = await connect();
    const b = await connect();
    await a.query("BEGIN");
    const first = Number((await a.query(INSERT_EVENT)).rows[0].id);
    await b.query("BEGIN");
    const second = Number((await b.query(INSERT_EVENT)).rows[0].id);
    await b.query("COMMIT");
    const visible = (await connect()).query("SELECT id FROM events WHERE id >= $1 ORDER BY id", [first]);
    expect((await visible).rows.map((r) => Number(r.id))).toEqual([second]);
    await a.query("COMMIT");
  });

  test("with a transaction advisory lock taken before the insert, event writers commit in id order", async () => {
    const admin = await connect();
    const a = await connect();
    const b = await connect();
    const LOCK = "SELECT pg_advisory_xact_lock(6677)";
    await a.query("BEGIN");
    await a.query(LOCK);
    const first = Number((await a.query(INSERT_EVENT)).rows[0].id);
    await b.query("BEGIN");
    const bLocked = b.query(LOCK);
    await blockedOnLock(admin, b.pid);
    await a.query("COMMIT");
    await bLocked;
    const second = Number((await b.query(INSERT_EVENT)).rows[0].id);
    await b.query("COMMIT");
    expect(second).toBeGreaterThan(first);
  });
});
