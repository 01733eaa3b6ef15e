import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
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
  const client = createClient({ url });
  if (url.startsWith("file:")) {
    // WAL lets API reads proceed while the agent-report writer commits; busy_timeout covers a
    // second control process sharing the file.
    await client.execute("PRAGMA journal_mode=WAL");
    await client.execute("PRAGMA busy_timeout=5000");
    await client.execute("PRAGMA synchronous=NORMAL");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  const stopCheckpoints = url.startsWith("file:") ? await checkpointInBackground(client) : () => {};
  return {
    db,
    client,
    close: () => {
      stopCheckpoints();
      client.close();
    },
  };
}

/** How often the WAL is copied back into the database file. */
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * SQLite's automatic checkpoint runs inside whichever COMMIT crosses the WAL threshold, which put
 * a ~20 ms stall into the slowest RunTask calls. Checkpointing on a timer instead keeps commits
 * short; PASSIVE never waits for readers or writers, so a busy moment only postpones it.
 */
async function checkpointInBackground(client: Client): Promise<() => void> {
  await client.execute("PRAGMA wal_autocheckpoint=0");
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    client
      .execute("PRAGMA wal_checkpoint(PASSIVE)")
      .catch(() => undefined)
      .finally(() => (running = false));
  }, CHECKPOINT_INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
