import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open, seal } from "../../../control/crypto/aead.ts";
import { MasterKeyError, loadMasterKey, parseMasterKey } from "../../../control/crypto/master-key.ts";

describe("AES-256-GCM sealing", () => {
  const key = randomBytes(32);

  test("round-trips, and the same value seals differently each time", () => {
    const a = seal(key, "hunter2", "db");
    expect(open(key, a, "db")).toBe("hunter2");
    expect(seal(key, "hunter2", "db")).not.toBe(a);
    expect(Buffer.from(a, "base64").includes(Buffer.from("hunter2"))).toBe(false);
  });

  test("a wrong key, a tampered ciphertext or another secret's name is refused", () => {
    const a = seal(key, "hunter2", "db");
    expect(() => open(randomBytes(32), a, "db")).toThrow();
    const raw = Buffer.from(a, "base64");
    raw[raw.length - 1]! ^= 1;
    expect(() => open(key, raw.toString("base64"), "db")).toThrow();
    // Swapping ciphertexts between rows does not hand one secret's value out under another name.
    expect(() => open(key, a, "other")).toThrow();
  });
});

describe("master key", () => {
  test("FLOTILLA_MASTER_KEY takes hex or base64 of exactly 32 bytes", () => {
    const k = randomBytes(32);
    expect(parseMasterKey(k.toString("hex")).equals(k)).toBe(true);
    expect(parseMasterKey(k.toString("base64")).equals(k)).toBe(true);
    expect(() => parseMasterKey("short")).toThrow(MasterKeyError);
  });

  test("a key file is created with mode 0600, reused, and refused when others can read it", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-key-"));
    try {
      const file = join(dir, "master.key");
      const k1 = loadMasterKey({ keyFile: file });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadMasterKey({ keyFile: file }).equals(k1)).toBe(true);
      chmodSync(file, 0o644);
      expect(() => loadMasterKey({ keyFile: file })).toThrow(/readable by others/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
