import { chmodSync, copyFileSync, existsSync, linkSync, renameSync, rmSync } from "node:fs";

/**
 * The agent's executable and its neighbours: `X.new` (a downloaded release, not yet in place) and
 * `X.previous` (the binary it replaced, kept for a rollback). Every step that changes what `X` is
 * is one rename, so a crash at any point leaves a whole binary at `X`.
 */
export const stagedPath = (binary: string) => `${binary}.new`;
export const previousPath = (binary: string) => `${binary}.previous`;

/** Makes the staged file executable and puts it at `binary`, keeping the running one as `.previous`. */
export function swapInStaged(binary: string): void {
  const staged = stagedPath(binary);
  chmodSync(staged, 0o755);
  const previous = previousPath(binary);
  rmSync(previous, { force: true });
  // A hard link keeps `binary` in place until the rename below replaces it (no moment without one).
  try {
    linkSync(binary, previous);
  } catch {
    copyFileSync(binary, previous);
  }
  renameSync(staged, binary);
}

/** Puts `.previous` back at `binary`; false when there is none to put back. */
export function restorePrevious(binary: string): boolean {
  const previous = previousPath(binary);
  if (!existsSync(previous)) return false;
  renameSync(previous, binary);
  return true;
}
