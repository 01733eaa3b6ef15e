import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadReleasePublicKeys, releaseSignatureValid } from "../../shared/release-signature.ts";

const dir = mkdtempSync(join(tmpdir(), "flotilla-sig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sh = (script: string) => {
  const r = Bun.spawnSync(["bash", "-euo", "pipefail", "-c", script], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`${script}: ${r.stderr.toString()}`);
};

describe("release signatures", () => {
  test("the openssl recipe of docs/agent-upgrades.md makes a signature the control and the agent accept", () => {
    writeFileSync(join(dir, "agent"), "pretend agent binary");
    sh(`openssl genpkey -algorithm ed25519 -out release.key
openssl pkey -in release.key -pubout -out release.pub
sha256sum agent | cut -c1-64 > agent.sha256
xxd -r -p agent.sha256 > agent.digest
openssl pkeyutl -sign -rawin -inkey release.key -in agent.digest | base64 -w0 > agent.sig`);
    const keys = loadReleasePublicKeys([join(dir, "release.pub")]);
    const sha = readFileSync(join(dir, "agent.sha256"), "utf8").trim();
    const sig = readFileSync(join(dir, "agent.sig"), "utf8");
    expect(releaseSignatureValid(sha, sig, keys)).toBe(true);
    // Another digest under the same signature does not verify.
    expect(releaseSignatureValid("0".repeat(64), sig, keys)).toBe(false);
  });

  test("a key file may hold several keys; a key that is not Ed25519 is refused naming the file", () => {
    const a = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    const b = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    writeFileSync(join(dir, "two.pub"), `${a}${b}`);
    expect(loadReleasePublicKeys([join(dir, "two.pub")])).toHaveLength(2);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" });
    writeFileSync(join(dir, "rsa.pub"), rsa);
    expect(() => loadReleasePublicKeys([join(dir, "rsa.pub")])).toThrow(`${join(dir, "rsa.pub")}: release keys are Ed25519, this one is rsa`);
  });
});
