import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStateStore } from "../../../agent/store/state-file.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * kill -9 during a burst of state changes, repeatedly: the state file left behind always loads
 * (writes are whole: temp file, fsync, rename, fsync of the folder), and an engine can start on it.
 */
const WORKER = join(import.meta.dir, "state-burst-worker.ts");

describe("state file under kill -9", () => {
  test("a burst of changes killed at a random moment, 12 times: the state file always loads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-state-crash-"));
    try {
      for (let i = 0; i < 12; i++) {
        const proc = Bun.spawn(["bun", WORKER, dir], { stdout: "pipe", stderr: "pipe" });
        let out = "";
        void (async () => {
          for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
        })();
        await waitFor("the worker's first save", () => (out.includes("saving") && existsSync(join(dir, "state.json"))) || proc.exitCode !== null, { intervalMs: 5 });
        expect(proc.exitCode).toBeNull();
        await Bun.sleep(Math.random() * 300);
        proc.kill("SIGKILL");
        await proc.exited;
        const state = fileStateStore(dir).load();
        expect(state.version).toBe(1);
        // The next worker starts on this file: generations keep rising from what was saved.
        expect(state.generation).toBeGreaterThan(0);
      }
      // Loading removed the temp files of writes cut short: only the state file is left.
      expect(readdirSync(dir)).toEqual(["state.json"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
