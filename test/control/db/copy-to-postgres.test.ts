import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { is } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import pg from "pg";
import { createApi } from "../../../control/api/app.ts";
import { runCli } from "../../../control/cli/run.ts";
import { COPY_ORDER } from "../../../control/db/copy-to-postgres.ts";
import * as sqliteSchema from "../../../control/db/schema.ts";
import * as pgSchema from "../../../control/db/schema-pg.ts";
import { createAccessKeyStore } from "../../../control/ops/access-keys.ts";
import { createSecretStore } from "../../../control/ops/secrets.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { startPostgres, type TestPostgres } from "../../helpers/postgres.ts";
import { APP_V1, APP_V2, fakeFleet } from "../services/fake-fleet.ts";

// `flotilla db migrate` on an installation populated through its real paths: the REST API
// (clusters, task definitions, services, RunTask, secrets, tokens, access keys, webhooks, windows,
// policy, tags; every call audited), instances through the registration op, tasks run and stopped
// by agents reporting through applyReports, deployments and service events from scheduler rounds.
// Every table is then compared row for row between the two databases.

const C = "prod";
let server: TestPostgres;
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
let sourceUrl: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { env: {}, out: (t) => void (out += t), err: (t) => void (err += t), tty: false, signal: new AbortController().signal });
  return { code, out, err };
}

beforeAll(async () => {
  server = await startPostgres();
  fleet = await fakeFleet(C, 3);
  const t = fleet.t;
  sourceUrl = t.db.url;
  const key = randomBytes(32);
  // The app a control service with a master key serves: secrets and access keys sealed under it.
  const app = createApi(t.ctx, { secrets: createSecretStore(t.ctx, key), accessKeys: createAccessKeyStore(t.ctx, key) });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  await call("POST", "/v1/clusters", { clusterName: "staging", tags: [{ key: "team", value: "edge" }] });
  await call("POST", "/v1/task-definitions", APP_V1);
  await call("POST", "/v1/task-definitions", APP_V2);
  await call("POST", "/v1/task-definitions", { family: "batch", containerDefinitions: [{ name: "job", image: "busybox", memory: 32, essential: true }] });
  await call("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "app:1", desiredCount: 3 });
  for (let i = 0; i < 4; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(1_000);
  }
  // A rolling update: a second deployment, service events, old tasks stopped.
  await call("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "app:2" });
  for (let i = 0; i < 12; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(1_000);
  }
  const run = await call("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "batch", count: 2, startedBy: "copy-test" });
  await fleet.settle();
  await call("POST", `/v1/clusters/${C}/tasks/${run.tasks[0].taskArn.split("/").pop()}/stop`, { reason: "done" });
  await fleet.settle();
  await call("POST", "/v1/secrets", { name: "db-password", value: "s3cret-value" });
  await call("POST", "/v1/tokens", { name: "ci", role: "operator" });
  await call("POST", "/v1/access-keys", { name: "terraform", role: "admin" });
  await call("POST", "/v1/webhooks", { url: "https://hooks.example.com/flotilla", clusters: [C] });
  await call("POST", `/v1/clusters/${C}/deployment-windows`, { name: "nightly", schedule: "0 2 * * *", durationMinutes: 60, timeZone: "UTC" });
  await call("PUT", `/v1/clusters/${C}/policy`, { allowPrivilegedIngressPorts: true });
  await call("POST", `/v1/clusters/${C}/activations`, { registrationLimit: 5 });
});

afterAll(async () => {
  fleet?.close();
  await server?.stop();
});

/** A table's rows as drizzle reads them (typed: booleans, parsed JSON), in primary-key order. */
function byKey(rows: Record<string, unknown>[], key: string[]): Record<string, unknown>[] {
  const k = (r: Record<string, unknown>) => JSON.stringify(key.map((c) => r[c]));
  return [...rows].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

function primaryKeyOf(table: SQLiteTable): string[] {
  const cfg = sqliteConfig(table);
  const composite = cfg.primaryKeys[0]?.columns;
  const cols = composite ?? cfg.columns.filter((c) => c.primary);
  // drizzle's row objects are keyed by property name, not column name.
  const byColumn = new Map(Object.entries(table).filter(([, v]) => (v as { name?: unknown })?.name !== undefined).map(([k, v]) => [(v as { name: string }).name, k]));
  return cols.map((c) => byColumn.get(c.name) ?? c.name);
}

describe("flotilla db migrate", () => {
  test("copies every table row for row, and says so table by table", async () => {
    const to = await server.createDatabase();
    const r = await cli("db", "migrate", "--from", sourceUrl, "--to", to);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const sqliteTables = (Object.values(sqliteSchema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable));
    const pgTables = new Map((Object.values(pgSchema) as unknown[]).filter((v): v is PgTable => is(v, PgTable)).map((t) => [pgConfig(t).name, t]));
    const lines = r.out.trim().split("\n");
    // One line per table, then the total.
    expect(lines.length).toBe(sqliteTables.length + 1);

    const pool = new pg.Pool({ connectionString: to });
    const target = drizzle(pool);
    const empty: string[] = [];
    try {
      for (const table of sqliteTables) {
        const name = sqliteConfig(table).name;
        const source = await fleet.t.db.db.select().from(table).all();
        const copied = await target.select().from(pgTables.get(name)!);
        const key = primaryKeyOf(table);
        expect({ table: name, rows: byKey(copied as Record<string, unknown>[], key) }).toEqual({ table: name, rows: byKey(source as Record<string, unknown>[], key) });
        expect(lines.find((l) => l.startsWith(`${name} `))).toMatch(new RegExp(`^${name} +${source.length} rows?$`));
        if (source.length === 0) empty.push(name);
      }
      // Parents first, in the order the copier states.
      expect(lines.slice(0, -1).map((l) => l.split(" ")[0])).toEqual([...COPY_ORDER]);
    } finally {
      await pool.end();
    }
    // What the population reached (the comparison above means something only for tables with rows).
    for (const t of ["clusters", "activations", "container_instances", "task_definitions", "tasks", "services", "deployments", "service_events", "api_tokens", "access_keys", "audit_log", "secrets", "cluster_policies", "tags", "events", "webhooks", "deployment_windows"]) {
      expect(empty).not.toContain(t);
    }
  });

  test("secrets stay sealed and credentials hashed: the stored bytes move, never a clear value", async () => {
    const to = await server.createDatabase();
    expect((await cli("db", "migrate", "--from", sourceUrl, "--to", to)).code).toBe(0);
    const c = new pg.Client({ connectionString: to });
    await c.connect();
    try {
      const dump = JSON.stringify((await c.query("SELECT s.ciphertext, k.secret_ciphertext, t.token_hash FROM secrets s, access_keys k, api_tokens t")).rows);
      expect(dump).not.toContain("s3cret-value");
      expect(dump).not.toContain(TEST_TOKEN);
      const [secret] = (await c.query("SELECT ciphertext FROM secrets WHERE name = 'db-password'")).rows;
      const [stored] = await fleet.t.db.db.select().from(sqliteSchema.secrets).all();
      expect(secret.ciphertext).toBe(stored!.ciphertext);
    } finally {
      await c.end();
    }
  });

  test("event and audit ids keep rising past everything the source gave out", async () => {
    const to = await server.createDatabase();
    const { events, auditLog } = sqliteSchema;
    const maxEvent = Math.max(...(await fleet.t.db.db.select({ id: events.id }).from(events).all()).map((r) => r.id));
    expect((await cli("db", "migrate", "--from", sourceUrl, "--to", to)).code).toBe(0);
    const pool = new pg.Pool({ connectionString: to });
    const target = drizzle(pool);
    try {
      const [e] = await target
        .insert(pgSchema.events)
        .values({ time: 1, detailType: "ECS Task State Change", body: "{}" })
        .returning({ id: pgSchema.events.id });
      expect(e!.id).toBe(maxEvent + 1);
      const maxAudit = Math.max(...(await fleet.t.db.db.select({ id: auditLog.id }).from(auditLog).all()).map((r) => r.id));
      const [a] = await target
        .insert(pgSchema.auditLog)
        .values({ at: 1, method: "POST", path: "/v1/x", action: "x", status: 200 })
        .returning({ id: pgSchema.auditLog.id });
      expect(a!.id).toBe(maxAudit + 1);
      // Tables whose source never allocated an id start at 1.
      const [d] = await target
        .insert(pgSchema.webhookDeliveries)
        .values({ webhookId: "w", eventId: 1, status: "PENDING", attempts: 0, nextAttemptAt: 1, createdAt: 1, updatedAt: 1 })
        .returning({ id: pgSchema.webhookDeliveries.id });
      expect(d!.id).toBe((await fleet.t.db.db.select().from(sqliteSchema.webhookDeliveries).all()).length + 1);
    } finally {
      await pool.end();
    }
  });

  test("a non-empty target is refused unless --replace, which empties it first", async () => {
    const to = await server.createDatabase();
    expect((await cli("db", "migrate", "--from", sourceUrl, "--to", to)).code).toBe(0);
    const again = await cli("db", "migrate", "--from", sourceUrl, "--to", to);
    expect(again.code).toBe(1);
    expect(again.out).toBe("");
    expect(again.err).toMatch(/^flotilla: --to postgres:\/\/\S+: not empty \(clusters has 2 rows\); pass --replace to empty it first\n$/);
    const replaced = await cli("db", "migrate", "--from", sourceUrl, "--to", to, "--replace");
    expect(replaced.err).toBe("");
    expect(replaced.code).toBe(0);
    expect(replaced.out).toMatch(/^clusters +2 rows$/m);
  });

  test("bad input: one readable line and a non-zero exit", async () => {
    const cases: [string[], RegExp][] = [
      [["--from", sourceUrl, "--to", "mysql://root@127.0.0.1/flotilla"], /^flotilla: --to mysql:\/\/root@127\.0\.0\.1\/flotilla: unknown scheme \(expected postgres:\/\/ or postgresql:\/\/\)\n$/],
      [["--from", "sqlite:///x.db", "--to", server.url("x")], /^flotilla: --from sqlite:\/\/\/x\.db: unknown scheme/],
      [["--from", "file:/nonexistent/flotilla.db", "--to", server.url("x")], /^flotilla: --from file:\/nonexistent\/flotilla\.db: no such database file\n$/],
      // A port nothing listens on (this cluster's own, plus one: free when the cluster started).
      [["--from", sourceUrl, "--to", `postgres://flotilla:hunter2@127.0.0.1:1/flotilla`], /^flotilla: --to postgres:\/\/flotilla:\*\*\*@127\.0\.0\.1:1\/flotilla: cannot connect: .*ECONNREFUSED.*\n$/],
      [["--from", sourceUrl, "--to", server.url("no_such_database")], /^flotilla: --to \S+: cannot connect: database "no_such_database" does not exist\n$/],
      [["--to", server.url("x")], /^flotilla: --from URL is required/],
    ];
    for (const [args, expected] of cases) {
      const r = await cli("db", "migrate", ...args);
      expect({ args, code: r.code === 0 ? 0 : "non-zero", err: r.err }).toEqual({ args, code: "non-zero", err: expect.stringMatching(expected) });
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).not.toContain("hunter2");
    }
  });
});

describe("flotilla db migrate from a running installation", () => {
  test("ids deleted at the source's tail (event retention) are not given out again", async () => {
    // A consistent copy of the source, whose newest events are then deleted as retention would.
    const dir = await import("node:fs").then((fs) => fs.mkdtempSync("/tmp/fl-copy-"));
    const file = `${dir}/copy.db`;
    await fleet.t.db.client.execute(`VACUUM INTO '${file}'`);
    const { createClient } = await import("@libsql/client");
    const copy = createClient({ url: `file:${file}` });
    const [{ m }] = (await copy.execute("SELECT max(id) AS m FROM events")).rows as unknown as [{ m: number }];
    await copy.execute({ sql: "DELETE FROM events WHERE id > ?", args: [m - 3] });
    copy.close();
    const to = await server.createDatabase();
    try {
      expect((await cli("db", "migrate", "--from", `file:${file}`, "--to", to)).code).toBe(0);
      const c = new pg.Client({ connectionString: to });
      await c.connect();
      const { rows } = await c.query("INSERT INTO events (time, detail_type, body) VALUES (1, 'x', '{}') RETURNING id");
      await c.end();
      expect(Number(rows[0].id)).toBe(m + 1);
    } finally {
      (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
    }
  });

  test("writes going on during the copy: it copies one consistent moment and verifies it", async () => {
    const t = fleet.t;
    const before = (await t.db.db.select().from(sqliteSchema.clusters).all()).length;
    let writing = true;
    let n = 0;
    const writer = (async () => {
      // Bounded, and yielding to the event loop between writes: a local libSQL write resolves at
      // once, so without the yield this loop would starve the copier's PostgreSQL socket.
      while (writing && n < 5_000) {
        await new Promise((resolve) => setImmediate(resolve));
        const r = await t.request("POST", "/v1/clusters", { clusterName: `busy-${n++}` });
        if (r.status !== 200 && r.status !== 201) throw new Error(`create cluster: ${r.status}`);
      }
    })();
    const to = await server.createDatabase();
    const r = await cli("db", "migrate", "--from", sourceUrl, "--to", to);
    writing = false;
    await writer;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const after = (await t.db.db.select().from(sqliteSchema.clusters).all()).length;
    const copied = Number(/^clusters +(\d+) rows?$/m.exec(r.out)![1]);
    expect(copied).toBeGreaterThanOrEqual(before);
    expect(copied).toBeLessThanOrEqual(after);
    expect(after).toBeGreaterThan(before);
  });
});
