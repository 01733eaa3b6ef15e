import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../control/db/open.ts";
import { waitFor } from "../../helpers/wait.ts";

// Commits never checkpoint (wal_autocheckpoint=0); a worker thread copies the WAL into the
// database file in the background. In WAL mode only a checkpoint writes the database file, so the
// file growing is the checkpoint happening.
test("the WAL is checkpointed into the database file in the background, without any commit doing it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-ckpt-"));
  const file = join(dir, "t.db");
  const database = await openDatabase(`file:${file}`);
  try {
    const autocheckpoint = await database.client.execute("PRAGMA wal_autocheckpoint");
    expect(Number(autocheckpoint.rows[0]![0])).toBe(0);
    await database.client.execute("CREATE TABLE filler (b BLOB)");
    const before = statSync(file).size;
    for (let i = 0; i < 64; i++) await database.client.execute({ sql: "INSERT INTO filler VALUES (randomblob(32768))", args: [] });
    // 2 MiB went into the WAL; the database file grows once the background checkpoint copies it.
    await waitFor("the database file to take the checkpointed pages", () => statSync(file).size >= before + 2 * 1024 * 1024, { timeoutMs: 10_000 });
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
