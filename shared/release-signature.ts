import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * Agent release signatures: Ed25519 over the 32 raw bytes of the binary's SHA-256, made with the
 * release private key (`crypto.sign(null, digest, privateKey)`), carried base64. The control
 * checks them at upload and the agent again before it swaps its binary, each against the public
 * key(s) it was configured with, so neither a wrong upload nor a compromised control service can
 * make an agent run a binary the release key did not sign.
 */
export const RELEASE_ARCHITECTURES = ["x86_64", "arm64"] as const;
export type ReleaseArchitecture = (typeof RELEASE_ARCHITECTURES)[number];

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Reads PEM (SPKI) Ed25519 public keys; a file may hold several. Throws naming the file. */
export function loadReleasePublicKeys(files: string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const file of files) {
    const pem = readFileSync(file, "utf8");
    const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`${file}: no PEM public key in it`);
    for (const block of blocks) {
      const key = createPublicKey(block);
      if (key.asymmetricKeyType !== "ed25519") throw new Error(`${file}: release keys are Ed25519, this one is ${key.asymmetricKeyType}`);
      keys.push(key);
    }
  }
  return keys;
}

/** True when `signatureBase64` is a signature of the digest by one of the keys. */
export function releaseSignatureValid(sha256Hex: string, signatureBase64: string, keys: KeyObject[]): boolean {
  if (!SHA256_HEX.test(sha256Hex)) return false;
  const signature = Buffer.from(signatureBase64, "base64");
  if (signature.length !== 64) return false;
  const digest = Buffer.from(sha256Hex, "hex");
  return keys.some((key) => verify(null, digest, key, signature));
}
