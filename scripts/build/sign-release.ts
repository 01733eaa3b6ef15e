/**
 * Prints the release signature of a binary: Ed25519 (the release private key, PEM) over the 32
 * raw bytes of its SHA-256, base64 — what POST /v1/agent-releases and the agents check
 * (shared/release-signature.ts, docs/agent-upgrades.md).
 *
 *   bun scripts/build/sign-release.ts KEY.pem BINARY > BINARY.sig
 */
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";

export async function releaseSignature(keyPem: string, binary: string): Promise<{ sha256: string; signature: string }> {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`the release key must be Ed25519, this one is ${key.asymmetricKeyType}`);
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(binary).stream()) hasher.update(chunk);
  const digest = Buffer.from(hasher.digest());
  return { sha256: digest.toString("hex"), signature: sign(null, digest, key).toString("base64") };
}

if (import.meta.main) {
  const [keyFile, binary] = process.argv.slice(2);
  if (!keyFile || !binary) {
    console.error("usage: sign-release.ts KEY.pem BINARY");
    process.exit(2);
  }
  try {
    process.stdout.write(`${(await releaseSignature(readFileSync(keyFile, "utf8"), binary)).signature}\n`);
  } catch (e) {
    console.error(`sign-release: ${(e as Error).message}`);
    process.exit(1);
  }
}
