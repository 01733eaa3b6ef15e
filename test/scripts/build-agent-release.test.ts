import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { agentReleaseStore } from "../../control/ops/agent-release-store.ts";
import { loadReleasePublicKeys, releaseSignatureValid } from "../../shared/release-signature.ts";
import { startTestControl, TEST_TOKEN } from "../helpers/control.ts";
import { createTestOps } from "../helpers/ops.ts";
import { releaseForm } from "../helpers/release-keys.ts";
import { ROOT, run } from "./support.ts";

/** scripts/build-agent --version V --sign KEY: a release build, signed, that the control accepts. */
const dir = mkdtempSync(join(tmpdir(), "flotilla-release-build-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("build-agent --version --sign writes a binary of that version and a signature the control accepts", async () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "release.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(join(dir, "release.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const out = join(dir, "dist");
  const r = await run([join(ROOT, "scripts/build-agent"), "--arch", "x64", "--agent-only", "--out", out, "--version", "0.9.0-release.test", "--sign", join(dir, "release.key")]);
  expect(r.code).toBe(0);
  const file = join(out, "flotilla-agent-linux-x64");
  const sha = readFileSync(`${file}.sha256`, "utf8").split(" ")[0]!;
  const signature = readFileSync(`${file}.sig`, "utf8").trim();
  const keys = loadReleasePublicKeys([join(dir, "release.pub")]);
  expect(releaseSignatureValid(sha, signature, keys)).toBe(true);
  // The version is compiled in (AGENT_VERSION, what the agent reports).
  expect(readFileSync(file).includes("0.9.0-release.test")).toBe(true);

  const t = await createTestOps(undefined, { agentReleases: agentReleaseStore({ dir: join(dir, "releases"), keys }) });
  try {
    const res = await t.app.request("/v1/agent-releases", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: releaseForm({ version: "0.9.0-release.test", architecture: "x86_64", sha256: sha, signature, bytes: new Uint8Array(readFileSync(file)) }),
    });
    expect(res.status).toBe(201);
  } finally {
    t.close();
  }

  // A control service started beside that build, trusting the key, offers it by itself; one
  // trusting another key does not, and says why.
  expect(readFileSync(`${file}.version`, "utf8").trim()).toBe("0.9.0-release.test");
  const tc = await startTestControl({ extra: { releases: { dir: join(dir, "served"), publicKeys: keys, distDir: out } } });
  try {
    const list = (await tc.api("GET", "/v1/agent-releases")).body.agentReleases;
    expect(list).toEqual([expect.objectContaining({ version: "0.9.0-release.test", architecture: "x86_64", sha256: sha, signature })]);
  } finally {
    await tc.stop();
  }
  const other = generateKeyPairSync("ed25519").publicKey;
  const tc2 = await startTestControl({ extra: { releases: { dir: join(dir, "served2"), publicKeys: [other], distDir: out } } });
  try {
    expect((await tc2.api("GET", "/v1/agent-releases")).body.agentReleases).toEqual([]);
    expect(tc2.logs.join("\n")).toContain("its .sig does not verify with the release public key(s)");
  } finally {
    await tc2.stop();
  }
}, 120_000);

test("build-agent refuses a bad --version and an unreadable --sign key before building", async () => {
  const bad = await run([join(ROOT, "scripts/build-agent"), "--agent-only", "--out", join(dir, "x"), "--version", "../1"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--version must be 1-64 letters, digits and . + _ -, got "../1"');
  const noKey = await run([join(ROOT, "scripts/build-agent"), "--agent-only", "--out", join(dir, "x"), "--sign", join(dir, "missing.key")]);
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain("cannot read --sign key");
});
