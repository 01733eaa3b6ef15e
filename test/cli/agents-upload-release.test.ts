import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createToken } from "../../control/ops/tokens.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { releaseKeyPair, sha256Hex, signDigest } from "../helpers/release-keys.ts";
import { cli } from "./run-cli.ts";

/**
 * `flotilla agents upload-release` against a real control trusting one release key: the CLI
 * hashes the binary and posts the multipart the REST route takes; the control checks the
 * signature before it stores anything.
 */
const key = releaseKeyPair();
const otherKey = releaseKeyPair();
const work = mkdtempSync(join(tmpdir(), "flotilla-cli-upload-"));
const binary = join(work, "flotilla-agent-linux-x64");
const bytes = new TextEncoder().encode("#!/bin/sh\necho agent 2.0.0\n".repeat(1000));
const sha = sha256Hex(bytes);
let tc: TestControl;
let env: Record<string, string>;

beforeAll(async () => {
  writeFileSync(binary, bytes);
  writeFileSync(`${binary}.sig`, `${signDigest(sha, key.privateKey)}\n`);
  tc = await startTestControl({ extra: { releases: { dir: join(work, "releases"), publicKeys: [key.publicKey] } } });
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN };
});
afterAll(async () => {
  await tc.stop();
  rmSync(work, { recursive: true, force: true });
});

const upload = (version: string, signature: string, e = env) => cli(["agents", "upload-release", "--version", version, "--arch", "x86_64", "--file", binary, "--signature", signature], e);

test("a valid signature (a .sig file): stored with the SHA-256 the CLI computed, listed by agents releases", async () => {
  const r = await upload("2.0.0", `${binary}.sig`);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`agent release 2.0.0 for x86_64 uploaded: ${bytes.length} bytes, sha256 ${sha}`);
  const listed = (await tc.api("GET", "/v1/agent-releases")).body.agentReleases;
  expect(listed).toMatchObject([{ version: "2.0.0", architecture: "x86_64", sha256: sha, size: bytes.length }]);
  expect(readFileSync(join(work, "releases", "flotilla-agent-2.0.0-x86_64"))).toEqual(Buffer.from(bytes));
  const releases = await cli(["agents", "releases"], env);
  expect(releases.stdout).toMatch(/2\.0\.0\s+x86_64/);
});

test("a signature by a key the control does not trust (given as base64): one readable error line, non-zero exit, nothing stored", async () => {
  const r = await upload("2.0.1", signDigest(sha, otherKey.privateKey));
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toBe("flotilla: InvalidParameterException: signature: does not verify with the control's release public key(s)");
  expect((await tc.api("GET", "/v1/agent-releases")).body.agentReleases.map((x: any) => x.version)).toEqual(["2.0.0"]);
});

test("an operator token may not upload (admin only); missing flags and files are usage errors", async () => {
  const operator = (await createToken(tc.control.ctx, { name: "op", role: "operator" })).token;
  const denied = await upload("2.0.2", `${binary}.sig`, { ...env, FLOTILLA_TOKEN: operator });
  expect(denied.code).not.toBe(0);
  expect(denied.stderr.trim().split("\n")).toHaveLength(1);
  const noArch = await cli(["agents", "upload-release", "--version", "2.0.3", "--file", binary, "--signature", `${binary}.sig`], env);
  expect(noArch.code).toBe(2);
  expect(noArch.stderr).toContain("--arch is required");
  const noFile = await cli(["agents", "upload-release", "--version", "2.0.3", "--arch", "x86_64", "--file", join(work, "nope"), "--signature", `${binary}.sig`], env);
  expect(noFile.code).toBe(2);
  expect(noFile.stderr).toContain("--file: no such file");
});
