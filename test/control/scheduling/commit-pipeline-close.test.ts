import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommitPipeline } from "../../../control/scheduling/commit-pipeline.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * A commit worker that cannot open its database: the file's folder is gone, as when a test closes
 * its database and removes the folder before the worker has opened it. The pipeline used to replace
 * a failed worker at once, forever: each such close left a loop starting a new thread every few
 * milliseconds, and in one `bun test` process of many files the later files ran several times slower.
 */
function missingDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-pipeline-"));
  rmSync(dir, { recursive: true, force: true });
  return join(dir, "gone.db");
}

test("after close, a worker that fails is not replaced", async () => {
  const pipeline = new CommitPipeline({ path: missingDatabase(), remote: false });
  pipeline.close();
  // The worker gets its open (and fails) after close; give it the time several failures take.
  await Bun.sleep(500);
  expect(pipeline.workerStarts).toBe(1);
});

test("an open pipeline replaces a worker that keeps failing less and less often", async () => {
  const pipeline = new CommitPipeline({ path: missingDatabase(), remote: false });
  try {
    // The first replacement is immediate, the next after 50 ms, then 100, 200, 400 ...
    await waitFor("a few replacements", async () => pipeline.workerStarts >= 3 || undefined, { timeoutMs: 10_000 });
    await Bun.sleep(1000);
    // Doubling delays allow at most ~6 starts in this time; immediate replacement made hundreds.
    expect(pipeline.workerStarts).toBeLessThan(10);
  } finally {
    pipeline.close();
  }
});
