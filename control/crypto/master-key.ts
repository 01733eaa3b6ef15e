import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

export class MasterKeyError extends Error {}

/** Accepts 32 bytes as 64 hex characters or base64 (what `openssl rand -base64 32` prints). */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32) throw new MasterKeyError("the master key must be 32 bytes, as 64 hex characters or base64");
  return key;
}

/**
 * The key that encrypts secrets at rest: FLOTILLA_MASTER_KEY when given, else a key file (created
 * on first use with mode 0600, next to the database). A key file readable by others is refused.
 */
export function loadMasterKey(opts: { env?: string; keyFile?: string }): Buffer {
  if (opts.env) return parseMasterKey(opts.env);
  if (!opts.keyFile) throw new MasterKeyError("no master key: set FLOTILLA_MASTER_KEY or give a key file");
  if (!existsSync(opts.keyFile)) {
    writeFileSync(opts.keyFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  }
  const mode = statSync(opts.keyFile).mode & 0o777;
  if (mode & 0o077) throw new MasterKeyError(`${opts.keyFile} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return parseMasterKey(readFileSync(opts.keyFile, "utf8"));
}
