import { restorePrevious } from "./binary-swap.ts";
import { readUpgradeMarker, writeUpgradeMarker, type UpgradeMarker } from "./upgrade-marker.ts";

export type GuardDecision =
  /** Nothing on trial. */
  | { action: "none" }
  /** The old binary is back at its path: re-execute it. */
  | { action: "rolled-back"; binary: string }
  /** This binary is on trial: it must connect within remainingMs, else call `expire`. */
  | { action: "watch"; remainingMs: number };

/**
 * Run at the agent's start, before anything else. A binary that crashes before connecting is
 * started again by the supervisor (systemd, install-agent.sh's loop) and comes back here; once its
 * trial (`--upgrade-deadline`) has run out without a confirmed connection, the old binary is put
 * back. An agent on the old version finding an unconfirmed trial is one that was rolled back (or
 * never got to the swap): the upgrade FAILED.
 */
export function checkPendingUpgrade(dataDir: string, runningVersion: string, now: number): GuardDecision {
  const marker = readUpgradeMarker(dataDir);
  if (!marker || marker.status !== "UPDATING") return { action: "none" };
  if (marker.version !== runningVersion) {
    writeUpgradeMarker(dataDir, { ...marker, status: "FAILED", reason: marker.reason ?? `agent ${runningVersion} is running, not ${marker.version}` });
    return { action: "none" };
  }
  const remainingMs = marker.startedAt + marker.deadlineMs - now;
  if (remainingMs > 0) return { action: "watch", remainingMs };
  return rollBack(dataDir, marker);
}

/** The trial ran out: called by the watch timer when the link never came up. */
export function expireTrial(dataDir: string, runningVersion: string): GuardDecision {
  const marker = readUpgradeMarker(dataDir);
  if (!marker || marker.status !== "UPDATING" || marker.version !== runningVersion) return { action: "none" };
  return rollBack(dataDir, marker);
}

function rollBack(dataDir: string, marker: UpgradeMarker): GuardDecision {
  const reason = `agent ${marker.version} did not connect within ${Math.round(marker.deadlineMs / 1000)}s; rolled back to ${marker.previousVersion}`;
  if (!restorePrevious(marker.binary)) {
    writeUpgradeMarker(dataDir, { ...marker, status: "FAILED", reason: `${reason.split(";")[0]}; no previous binary to roll back to` });
    return { action: "none" };
  }
  // Still UPDATING-with-a-reason would be re-read as a trial by the old binary: FAILED now.
  writeUpgradeMarker(dataDir, { ...marker, status: "FAILED", reason });
  return { action: "rolled-back", binary: marker.binary };
}

/** The new binary could not even be executed: put the old one back now, FAILED with `reason`. */
export function abandonTrial(dataDir: string, reason: string): boolean {
  const marker = readUpgradeMarker(dataDir);
  if (!marker || marker.status !== "UPDATING") return false;
  const restored = restorePrevious(marker.binary);
  writeUpgradeMarker(dataDir, { ...marker, status: "FAILED", reason: restored ? `${reason}; rolled back to ${marker.previousVersion}` : reason });
  return restored;
}
