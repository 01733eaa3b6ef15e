import { join } from "node:path";
import { z } from "zod";
import { AGENT_UPDATE_STATUSES } from "../../shared/messages.ts";
import { readFileIfExists, writeFileAtomic } from "../store/atomic-file.ts";

/**
 * The agent's self-upgrade state, in `{data-dir}/upgrade.json`, so it survives the re-exec: the new
 * binary reads it at start to know it is on trial (status UPDATING, since `startedAt`) and confirms
 * it (UPDATED) once connected; the rollback guard puts the old binary back when the trial ran out.
 */
export const upgradeMarkerSchema = z.object({
  status: z.enum(AGENT_UPDATE_STATUSES),
  version: z.string(),
  previousVersion: z.string(),
  /** The executable that was swapped (its old self is `${binary}.previous`). */
  binary: z.string(),
  /** When the new binary was swapped in (ms); with deadlineMs, when its trial ends. */
  startedAt: z.number(),
  deadlineMs: z.number().int().positive(),
  reason: z.string().optional(),
});
export type UpgradeMarker = z.infer<typeof upgradeMarkerSchema>;

export const markerPath = (dataDir: string) => join(dataDir, "upgrade.json");

export function readUpgradeMarker(dataDir: string): UpgradeMarker | null {
  const text = readFileIfExists(markerPath(dataDir));
  if (text === null) return null;
  try {
    const parsed = upgradeMarkerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function writeUpgradeMarker(dataDir: string, marker: UpgradeMarker): void {
  writeFileAtomic(markerPath(dataDir), JSON.stringify(marker));
}
