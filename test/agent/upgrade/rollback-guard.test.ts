import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { previousPath, stagedPath, swapInStaged } from "../../../agent/upgrade/binary-swap.ts";
import { checkPendingUpgrade, expireTrial } from "../../../agent/upgrade/rollback-guard.ts";
import { readUpgradeMarker, writeUpgradeMarker } from "../../../agent/upgrade/upgrade-marker.ts";

let dir: string;
let binary: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-guard-"));
  binary = join(dir, "flotilla-agent");
  writeFileSync(binary, "old");
  writeFileSync(stagedPath(binary), "new");
  swapInStaged(binary);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const onTrial = (startedAt: number) => writeUpgradeMarker(dir, { status: "UPDATING", version: "2", previousVersion: "1", binary, startedAt, deadlineMs: 60_000 });

describe("the swap", () => {
  test("puts the new binary in place and keeps the old one as .previous", () => {
    expect(readFileSync(binary, "utf8")).toBe("new");
    expect(readFileSync(previousPath(binary), "utf8")).toBe("old");
    expect(existsSync(stagedPath(binary))).toBe(false);
  });
});

describe("the rollback guard at start", () => {
  test("a new binary within its deadline is watched, not rolled back", () => {
    onTrial(1_000_000);
    expect(checkPendingUpgrade(dir, "2", 1_000_000 + 10_000)).toEqual({ action: "watch", remainingMs: 50_000 });
    expect(readFileSync(binary, "utf8")).toBe("new");
  });

  test("a new binary started again after its deadline without a confirmed connection puts the old one back", () => {
    onTrial(1_000_000);
    expect(checkPendingUpgrade(dir, "2", 1_000_000 + 61_000)).toEqual({ action: "rolled-back", binary });
    expect(readFileSync(binary, "utf8")).toBe("old");
    expect(readUpgradeMarker(dir)).toMatchObject({ status: "FAILED", reason: "agent 2 did not connect within 60s; rolled back to 1" });
    // The old binary, re-executed, finds nothing on trial.
    expect(checkPendingUpgrade(dir, "1", 1_000_000 + 62_000)).toEqual({ action: "none" });
  });

  test("a confirmed upgrade is left alone however late", () => {
    writeUpgradeMarker(dir, { status: "UPDATED", version: "2", previousVersion: "1", binary, startedAt: 0, deadlineMs: 60_000 });
    expect(checkPendingUpgrade(dir, "2", 10 ** 12)).toEqual({ action: "none" });
    expect(readFileSync(binary, "utf8")).toBe("new");
  });

  test("the old version finding an unconfirmed trial records the upgrade as FAILED", () => {
    onTrial(1_000_000);
    expect(checkPendingUpgrade(dir, "1", 1_000_001)).toEqual({ action: "none" });
    expect(readUpgradeMarker(dir)?.status).toBe("FAILED");
  });

  test("the watch timer rolls back a binary that runs but never connected", () => {
    onTrial(1_000_000);
    expect(expireTrial(dir, "2")).toEqual({ action: "rolled-back", binary });
    expect(readFileSync(binary, "utf8")).toBe("old");
  });
});
