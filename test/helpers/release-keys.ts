import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** An Ed25519 release key pair, as an operator would make with openssl genpkey -algorithm ed25519. */
export function releaseKeyPair(): { publicKey: KeyObject; privateKey: KeyObject; publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { publicKey, privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export function writePublicKey(dir: string, key: { publicPem: string }, name = "release.pub"): string {
  const file = join(dir, name);
  writeFileSync(file, key.publicPem);
  return file;
}

export const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The release signature: Ed25519 over the raw 32-byte digest, base64 (shared/release-signature.ts). */
export const signDigest = (sha256: string, privateKey: KeyObject) => sign(null, Buffer.from(sha256, "hex"), privateKey).toString("base64");

/** The multipart body of POST /v1/agent-releases. */
export function releaseForm(f: { version: string; architecture: string; sha256: string; signature: string; bytes?: Uint8Array }): FormData {
  const form = new FormData();
  form.set("version", f.version);
  form.set("architecture", f.architecture);
  form.set("sha256", f.sha256);
  form.set("signature", f.signature);
  if (f.bytes) form.set("file", new Blob([f.bytes]), "flotilla-agent");
  return form;
}

/**
 * Uploads a stand-in release ("agent VERSION" as its bytes) signed with `privateKey` through POST
 * /v1/agent-releases of an in-process app (app.request), as an admin; returns the response.
 */
export async function uploadTestRelease(app: { request(path: string, init: RequestInit): Response | Promise<Response> }, token: string, privateKey: KeyObject, version: string, architecture = "x86_64"): Promise<Response> {
  const bytes = new TextEncoder().encode(`agent ${version}`);
  const sha = sha256Hex(bytes);
  return app.request("/v1/agent-releases", {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: releaseForm({ version, architecture, sha256: sha, signature: signDigest(sha, privateKey), bytes }),
  });
}
