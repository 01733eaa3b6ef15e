import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Database } from "../../../control/db/open.ts";

/** Two connections to one database file: two control processes sharing it, as far as SQLite knows. */
export async function twoConnections(): Promise<{ a: Database; b: Database; url: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-lease-"));
  const url = `file:${join(dir, "shared.db")}`;
  const a = await openDatabase(url);
  const b = await openDatabase(url);
  return {
    a,
    b,
    url,
    close: () => {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock the test moves by hand. */
export function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}
