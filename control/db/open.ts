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
  /** The URL it was opened with (the native connections of the placement store open it too). */
  url: string;
  /**
   * The local file behind a `file:` URL; undefined for remote databases. Connections of their
   * own (the placement store's, control/scheduling/placement-store.ts) open it by this path.
   */
  file: string | undefined;
  /** Runs `fn` when the database is closed, before its client goes (for connections opened on `file`). */
  onClose(fn: () => void): void;
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
  const file = localFile(url);
  const closers: (() => void)[] = [];
  let stopCheckpoints = () => {};
  if (file) {
    // Checkpoints run on a worker thread (background-checkpoints.ts), never inside a commit.
    await client.execute("PRAGMA wal_autocheckpoint=0");
    stopCheckpoints = checkpointInBackground(file);
  }
  return {
    db,
    client,
    url,
    file,
    onClose: (fn) => void closers.push(fn),
    close: () => {
      stopCheckpoints();
      for (const fn of closers.splice(0)) fn();
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
