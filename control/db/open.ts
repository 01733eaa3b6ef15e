import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { checkpointInBackground } from "./background-checkpoints.ts";
import * as schema from "./schema.ts";

export type Db = LibSQLDatabase<typeof schema>;

export interface Database {
  db: Db;
  client: Client;
  close(): void;
}

const MIGRATIONS = join(import.meta.dir, "migrations");

/** Opens (creating the folder of a `file:` URL if needed) and migrates the database. */
export async function openDatabase(url: string): Promise<Database> {
  if (url.startsWith("file:")) {
    const path = url.slice("file:".length);
    if (path && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  }
  // The busy timeout goes in the client options: @libsql/client keeps a pool of connections
  // (transactions take their own), and a PRAGMA below reaches only the one it ran on. Without it
  // a pooled connection fails at once with SQLITE_BUSY while another process holds the write lock
  // (HA: several control processes on one file), and the write it carried — a report — is lost.
  const client = createClient({ url, timeout: 5000 });
  if (url.startsWith("file:")) {
    // WAL lets API reads proceed while the agent-report writer commits; busy_timeout covers a
    // second control process sharing the file.
    await client.execute("PRAGMA journal_mode=WAL");
    await client.execute("PRAGMA busy_timeout=5000");
    await client.execute("PRAGMA synchronous=NORMAL");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  const side = { file: localFile(url), opened: new Map<string, { close(): void }>() };
  let stopCheckpoints = () => {};
  if (side.file) {
    sideConnections.set(db, side);
    // Checkpoints run on a worker thread (background-checkpoints.ts), never inside a commit.
    await client.execute("PRAGMA wal_autocheckpoint=0");
    stopCheckpoints = checkpointInBackground(side.file);
  }
  return {
    db,
    client,
    close: () => {
      stopCheckpoints();
      for (const c of side.opened.values()) c.close();
      side.opened.clear();
      client.close();
    },
  };
}

/** The local file behind a `file:` URL, or undefined for in-memory and remote databases. */
function localFile(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const path = url.slice("file:".length).split("?")[0]!;
  return path && path !== ":memory:" ? path : undefined;
}

const sideConnections = new WeakMap<Db, { file: string | undefined; opened: Map<string, { close(): void }> }>();

/**
 * A native connection of its own to the database's file, opened once per database and `key` and
 * closed with the database; undefined for in-memory and remote databases. For hot paths that keep
 * prepared statements across calls, which @libsql/client cannot do: it prepares every statement
 * anew, which costs more than running it, and each prepared statement holds kilobytes of native
 * memory until a finalizer frees it (Bun runs those only when the event loop turns).
 */
export function sideConnection<T extends { close(): void }>(db: Db, key: string, open: (file: string) => T): T | undefined {
  const side = sideConnections.get(db);
  if (!side?.file) return undefined;
  let connection = side.opened.get(key) as T | undefined;
  if (!connection) {
    connection = open(side.file);
    side.opened.set(key, connection);
  }
  return connection;
}
