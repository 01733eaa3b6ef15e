import type { KeyObject } from "node:crypto";
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { releaseSignatureValid } from "../../shared/release-signature.ts";

/** An agent binary is ~100 MiB; anything far larger is not one. */
const MAX_BINARY_BYTES = 512 * 1024 * 1024;

export class ReleaseRefused extends Error {}

/**
 * Downloads a release to `dest`, hashing as it writes, and keeps it only if its SHA-256 is the one
 * the command named and that digest carries a valid signature under one of the agent's own
 * trusted keys. The signature is checked first, so a command signed by nobody costs no download.
 */
export async function downloadRelease(
  req: { url: string; sha256: string; signature: string },
  dest: string,
  keys: KeyObject[],
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  if (!releaseSignatureValid(req.sha256, req.signature, keys)) throw new ReleaseRefused("signature does not verify with this agent's release public key");
  const res = await fetchImpl(req.url);
  if (!res.ok || !res.body) throw new ReleaseRefused(`download failed: HTTP ${res.status}`);
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(dest, "w", 0o700);
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      if (size > MAX_BINARY_BYTES) throw new ReleaseRefused(`download larger than ${MAX_BINARY_BYTES} bytes`);
      hasher.update(chunk);
      writeSync(fd, chunk);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(dest, { force: true });
    throw e;
  }
  closeSync(fd);
  const actual = hasher.digest("hex");
  if (actual !== req.sha256) {
    rmSync(dest, { force: true });
    throw new ReleaseRefused(`downloaded binary's SHA-256 is ${actual}, the release says ${req.sha256}`);
  }
}
