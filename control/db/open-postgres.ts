import { join } from "node:path";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { silentLogger, type Logger } from "../../shared/log.ts";
import * as schema from "./schema-pg.ts";

/**
 * The PostgreSQL store (docs/postgres.md), through node-postgres (`pg`) and drizzle's
 * node-postgres driver: a pool for queries, a transaction on one pooled client, LISTEN on a client
 * of its own when a cross-process change feed needs it. Not yet what the control service runs on:
 * the operations still speak drizzle's SQLite API (docs/postgres.md, "What is left").
 */
export type PgDb = NodePgDatabase<typeof schema>;

export interface PostgresDatabase {
  db: PgDb;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export const PG_MIGRATIONS = join(import.meta.dir, "migrations-pg");

/** Any advisory lock key works as long as every Flotilla process uses the same one. */
const MIGRATION_LOCK = 0x666c6f74; // "flot"

export function isPostgresUrl(url: string): boolean {
  return url.startsWith("postgres://") || url.startsWith("postgresql://");
}

/**
 * Applies control/db/migrations-pg. drizzle's migrator reads the last applied migration before
 * its transaction, so two control processes starting together could both apply the same one; a
 * session advisory lock held on the one connection the migrator uses makes the second wait, then
 * find nothing to do.
 */
export async function migratePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    // The migrator's own bookkeeping (schema "drizzle") says something only to drizzle: keep its notices quiet.
    await client.query("SET client_min_messages = warning");
    await migrate(drizzle(client), { migrationsFolder: PG_MIGRATIONS });
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  } finally {
    await client.end();
  }
}

/** Opens a pool on `url` (postgres:// or postgresql://) and migrates the database. */
export async function openPostgres(url: string, options: { max?: number; log?: Logger } = {}): Promise<PostgresDatabase> {
  const log = options.log ?? silentLogger;
  await migratePostgres(url);
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle client losing its server (a restart, a failover) must not crash the process: the
  // pool drops it and the next query connects afresh.
  pool.on("error", (err) => log.warn({ err }, "an idle PostgreSQL connection failed; the pool drops it"));
  const db = drizzle(pool, { schema });
  return { db, pool, url, close: () => pool.end() };
}
