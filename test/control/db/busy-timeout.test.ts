import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../control/db/open.ts";

/**
 * Several control processes share one database file (HA). A write that meets another process's
 * write lock must wait for it on every connection of the client's pool, not only on the first
 * one: a report whose UPDATE failed at once with SQLITE_BUSY was simply lost.
 */
const dir = mkdtempSync(join(tmpdir(), "flotilla-busy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("database busy timeout", () => {
  test("a write on a second pooled connection waits for another process's lock", async () => {
    const url = `file:${join(dir, "f.db")}`;
    const d = await openDatabase(url);
    await d.client.execute("CREATE TABLE t (v INTEGER)");
    // An open transaction holds the first connection, so the next statement gets a new one.
    const held = await d.client.transaction("read");
    expect((await d.client.execute("PRAGMA busy_timeout")).rows[0]![0]).toBe(5000);

    // Another process takes the write lock and keeps it for 300 ms (SQLite waits block the thread,
    // so the lock holder cannot live in this one).
    const holder = Bun.spawn(["bun", "-e", `
      const { createClient } = await import("@libsql/client");
      const c = createClient({ url: ${JSON.stringify(url)} });
      const tx = await c.transaction("write");
      await tx.execute("INSERT INTO t VALUES (1)");
      console.log("locked");
      await Bun.sleep(300);
      await tx.commit();
    `], { cwd: import.meta.dir, stdout: "pipe", stderr: "inherit" });
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    const started = performance.now();
    await d.client.execute("INSERT INTO t VALUES (2)");
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(await holder.exited).toBe(0);
    held.close();
    expect((await d.client.execute("SELECT count(*) FROM t")).rows[0]![0]).toBe(2);
    d.close();
  });
});
