import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client, type InValue, type Transaction } from "@libsql/client";
import { is } from "drizzle-orm";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import pg from "pg";
import { isPostgresUrl, migratePostgres } from "./open-postgres.ts";
import * as pgSchema from "./schema-pg.ts";
import * as sqliteSchema from "./schema.ts";

/**
 * `flotilla db migrate`: copies a libSQL installation's rows into a PostgreSQL database migrated
 * to the same schema (docs/postgres.md). Rows are copied as stored: secrets and sealed access keys
 * stay encrypted under the same master key, credentials and tokens stay hashed, ids keep their
 * values, and each identity sequence is moved past the highest id the source ever gave out (its
 * sqlite_sequence, not only the highest row left), so event ids keep rising after the move.
 *
 * The source is read in one read transaction: a running control service may keep writing, and the
 * copy is the state at the moment that transaction began. The target is written in one
 * transaction: a failure leaves it as it was.
 */

/** Bad input the operator can fix: one line, said as is. */
export class CopyRefused extends Error {}

export interface CopyOptions {
  from: string;
  to: string;
  /** Empty the target's Flotilla tables first instead of refusing a non-empty target. */
  replace?: boolean;
  /** One line per table as it is copied and verified. */
  out?: (line: string) => void;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

const LIBSQL_SCHEMES = ["file:", "libsql:", "http:", "https:", "ws:", "wss:"];
const SQLITE_MIGRATIONS_JOURNAL = join(import.meta.dir, "migrations", "meta", "_journal.json");
/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMS = 60_000;
const PAGE_ROWS = 1_000;

/** A URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

interface TablePair {
  name: string;
  sqlite: SQLiteTable;
  pg: PgTable;
  /** Column names, and how each SQLite value becomes a PostgreSQL parameter. */
  columns: { name: string; convert: (v: unknown) => unknown }[];
  /** The column PostgreSQL generates (identity), if any. */
  identity?: string;
}

const asIs = (v: unknown) => v;
const asBoolean = (v: unknown) => (v === null || v === undefined ? null : Number(v) !== 0);
// Integers are read as bigint (intMode "bigint") so none loses precision on the way; PostgreSQL takes their text.
const asBigint = (v: unknown) => (v === null || v === undefined ? null : String(v));

/**
 * Every table, parents before the rows that name them (clusters before their instances, tasks
 * and services; a service before its deployments and events; an event before its deliveries).
 * There are no foreign keys today, but a target that gets them later fills in this order; and
 * a table missing here fails the copy (and its test) rather than being left behind.
 */
export const COPY_ORDER = [
  "clusters",
  "cluster_policies",
  "pull_limits",
  "tags",
  "activations",
  "container_instances",
  "task_definitions",
  "services",
  "deployments",
  "service_events",
  "image_prefetches",
  "tasks",
  "deployment_windows",
  "deployment_window_overrides",
  "agent_releases",
  "agent_upgrades",
  "api_tokens",
  "access_keys",
  "secrets",
  "audit_log",
  "leases",
  "events",
  "webhooks",
  "webhook_deliveries",
] as const;

/** Every table of schema.ts with its schema-pg.ts mirror, in COPY_ORDER. */
export function tablePairs(): TablePair[] {
  const pgByName = new Map<string, PgTable>();
  for (const v of Object.values(pgSchema)) if (is(v, PgTable)) pgByName.set(pgConfig(v).name, v);
  const pairs: TablePair[] = [];
  for (const v of Object.values(sqliteSchema)) {
    if (!is(v, SQLiteTable)) continue;
    const cfg = sqliteConfig(v);
    const mirror = pgByName.get(cfg.name);
    if (!mirror) throw new Error(`table ${cfg.name} has no PostgreSQL mirror in schema-pg.ts`);
    const pgCols = new Map(pgConfig(mirror).columns.map((c) => [c.name, c]));
    const columns = cfg.columns.map((c) => {
      if (!pgCols.has(c.name)) throw new Error(`column ${cfg.name}.${c.name} has no PostgreSQL mirror in schema-pg.ts`);
      const convert = c.columnType === "SQLiteBoolean" ? asBoolean : c.columnType === "SQLiteInteger" ? asBigint : asIs;
      return { name: c.name, convert };
    });
    const identity = pgConfig(mirror).columns.find((c) => c.generatedIdentity !== undefined)?.name;
    pairs.push({ name: cfg.name, sqlite: v, pg: mirror, columns, ...(identity ? { identity } : {}) });
  }
  const rank = new Map<string, number>(COPY_ORDER.map((n, i) => [n, i]));
  const unordered = pairs.filter((p) => !rank.has(p.name)).map((p) => p.name);
  if (unordered.length) throw new Error(`table(s) ${unordered.join(", ")} missing from COPY_ORDER (control/db/copy-to-postgres.ts)`);
  return pairs.sort((a, b) => rank.get(a.name)! - rank.get(b.name)!);
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** What can be said about the two URLs before connecting to anything. */
function checkUrls(from: string, to: string): void {
  if (!LIBSQL_SCHEMES.some((s) => from.startsWith(s))) {
    throw new CopyRefused(`--from ${redactUrl(from)}: unknown scheme (expected a libSQL URL: file:PATH, libsql://, http(s)://, ws(s)://)`);
  }
  if (from.startsWith("file:")) {
    const path = from.slice("file:".length).split("?")[0]!;
    // @libsql/client would create an empty file: a typo must not look like an empty installation.
    if (!path || path === ":memory:" || !existsSync(path)) throw new CopyRefused(`--from ${from}: no such database file`);
  }
  if (!isPostgresUrl(to)) throw new CopyRefused(`--to ${redactUrl(to)}: unknown scheme (expected postgres:// or postgresql://)`);
}

async function openSource(url: string): Promise<Client> {
  const client = createClient({ url, intMode: "bigint" });
  try {
    await client.execute("SELECT 1");
  } catch (e) {
    client.close();
    throw new CopyRefused(`--from ${redactUrl(url)}: cannot open: ${(e as Error).message}`);
  }
  return client;
}

/** Refuses a source whose schema is not the one this build knows (its columns would not line up). */
async function checkSourceSchema(tx: Transaction, url: string): Promise<void> {
  const journal = (await Bun.file(SQLITE_MIGRATIONS_JOURNAL).json()) as { entries: { when: number }[] };
  const expected = Math.max(...journal.entries.map((e) => e.when));
  let applied: number;
  try {
    const r = await tx.execute("SELECT max(created_at) AS at FROM __drizzle_migrations");
    applied = Number(r.rows[0]?.at ?? 0);
  } catch {
    throw new CopyRefused(`--from ${redactUrl(url)}: not a Flotilla database (no migrations table)`);
  }
  if (applied < expected) {
    throw new CopyRefused(
      `--from ${redactUrl(url)}: its schema is older than this Flotilla's; start this version's control service on it once (it migrates at start), then copy`,
    );
  }
  if (applied > expected) throw new CopyRefused(`--from ${redactUrl(url)}: its schema is newer than this Flotilla's; copy with the Flotilla that wrote it`);
}

async function connectTarget(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A connection cut mid-copy surfaces as the failing query's error; this keeps it from also crashing the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw new CopyRefused(`--to ${redactUrl(url)}: cannot connect: ${(e as Error).message || String(e)}`);
  }
  return client;
}

async function countRows(q: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>, table: string): Promise<number> {
  const r = await q(`SELECT count(*) AS n FROM ${quote(table)}`);
  return Number(r.rows[0]!.n);
}

/** The highest id a SQLite AUTOINCREMENT table has given out (sqlite_sequence remembers deleted ones). */
async function highestId(tx: Transaction, table: string, column: string): Promise<bigint> {
  const max = await tx.execute(`SELECT max(${quote(column)}) AS m FROM ${quote(table)}`);
  let high = BigInt((max.rows[0]?.m as bigint | null) ?? 0n);
  const seq = await tx.execute({ sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", args: [table] }).catch(() => undefined);
  const s = seq?.rows[0]?.seq as bigint | undefined;
  if (s !== undefined && s !== null && BigInt(s) > high) high = BigInt(s);
  return high;
}

async function copyTable(tx: Transaction, target: pg.Client, t: TablePair): Promise<number> {
  const cols = t.columns.map((c) => quote(c.name)).join(", ");
  const perInsert = Math.max(1, Math.min(PAGE_ROWS, Math.floor(MAX_PARAMS / t.columns.length)));
  let after: bigint | null = null;
  let copied = 0;
  for (;;) {
    // Paged by rowid inside the one read transaction: bounded memory, one snapshot.
    const args: InValue[] = after === null ? [] : [after];
    const page = await tx.execute({
      sql: `SELECT rowid AS __rowid, ${cols} FROM ${quote(t.name)}${after === null ? "" : " WHERE rowid > ?"} ORDER BY rowid LIMIT ${perInsert}`,
      args,
    });
    if (page.rows.length === 0) return copied;
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const row of page.rows) {
      const slots: string[] = [];
      for (const c of t.columns) {
        params.push(c.convert(row[c.name]));
        slots.push(`$${params.length}`);
      }
      tuples.push(`(${slots.join(", ")})`);
    }
    try {
      await target.query(`INSERT INTO ${quote(t.name)} (${cols}) VALUES ${tuples.join(", ")}`, params);
    } catch (e) {
      throw new CopyRefused(`copying ${t.name} failed (rows after rowid ${after ?? 0}): ${(e as Error).message}`);
    }
    copied += page.rows.length;
    after = page.rows[page.rows.length - 1]!.__rowid as bigint;
  }
}

/** Copies every table; resolves to the per-table counts (source and target equal), or throws. */
export async function copyToPostgres(opts: CopyOptions): Promise<TableCount[]> {
  const out = opts.out ?? (() => {});
  const pairs = tablePairs();
  checkUrls(opts.from, opts.to);
  // The target first: an unreachable or non-empty one is refused before the source is touched.
  const target = await connectTarget(opts.to);
  let source: Client | undefined;
  try {
    try {
      await migratePostgres(opts.to);
    } catch (e) {
      throw new CopyRefused(`--to ${redactUrl(opts.to)}: migrating failed: ${(e as Error).message}`);
    }
    if (!opts.replace) {
      for (const t of pairs) {
        const n = await countRows((s) => target.query(s), t.name);
        if (n > 0) throw new CopyRefused(`--to ${redactUrl(opts.to)}: not empty (${t.name} has ${n} rows); pass --replace to empty it first`);
      }
    }
    source = await openSource(opts.from);
    const tx = await source.transaction("read");
    const counts: TableCount[] = [];
    try {
      await checkSourceSchema(tx, opts.from);
      await target.query("BEGIN");
      try {
        if (opts.replace) await target.query(`TRUNCATE ${pairs.map((t) => quote(t.name)).join(", ")} RESTART IDENTITY`);
        for (const t of pairs) {
          const source = await countRows((s) => tx.execute(s), t.name);
          const copied = await copyTable(tx, target, t);
          if (copied !== source) throw new CopyRefused(`copying ${t.name}: read ${copied} rows of ${source}`);
          if (t.identity) {
            const high = await highestId(tx, t.name, t.identity);
            // is_called false at 1: the first id given out is 1; otherwise the next is high + 1.
            await target.query("SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)", [t.name, t.identity, high > 0n ? String(high) : "1", high > 0n]);
          }
          counts.push({ table: t.name, source, target: -1 });
        }
        await target.query("COMMIT");
      } catch (e) {
        await target.query("ROLLBACK").catch(() => {});
        throw e;
      }
    } finally {
      tx.close();
    }
    // Verified after the commit, by counting what PostgreSQL now holds.
    const w = Math.max(...counts.map((c) => c.table.length));
    const bad: string[] = [];
    for (const c of counts) {
      c.target = await countRows((s) => target.query(s), c.table);
      out(`${c.table.padEnd(w)}  ${String(c.target).padStart(8)} ${c.target === 1 ? "row" : "rows"}${c.target === c.source ? "" : `  MISMATCH: source has ${c.source}`}`);
      if (c.target !== c.source) bad.push(c.table);
    }
    if (bad.length) throw new CopyRefused(`row counts differ after the copy: ${bad.join(", ")}`);
    return counts;
  } finally {
    source?.close();
    await target.end().catch(() => {});
  }
}
