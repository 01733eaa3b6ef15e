import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { agentReleaseStore, checkDownloadToken, downloadTokenKey, issueDownloadToken } from "../../../control/ops/agent-release-store.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest } from "../../helpers/release-keys.ts";

const trusted = releaseKeyPair();
const stranger = releaseKeyPair();
const binary = new TextEncoder().encode("#!/bin/sh\necho pretend agent 0.2.0\n");
const sha = sha256Hex(binary);

let t: TestOps;
let dir: string;
const store = () => agentReleaseStore({ dir, keys: [trusted.publicKey] });
let releases: ReturnType<typeof agentReleaseStore>;

async function upload(form: FormData, token = TEST_TOKEN) {
  const res = await t.app.request("/v1/agent-releases", { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-releases-"));
  releases = store();
  t = await createTestOps(undefined, { agentReleases: releases });
});
afterAll(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

const stored = () => readdirSync(dir);

describe("POST /v1/agent-releases", () => {
  test("a binary whose bytes do not hash to the given SHA-256 is a 400 naming sha256, and nothing is stored", async () => {
    const wrong = sha256Hex(new TextEncoder().encode("other bytes"));
    const res = await upload(releaseForm({ version: "0.2.0", architecture: "x86_64", sha256: wrong, signature: signDigest(wrong, trusted.privateKey), bytes: binary }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: "sha256", message: expect.stringContaining(sha) }]);
    expect(stored()).toEqual([]);
    expect((await t.request("GET", "/v1/agent-releases")).body.agentReleases).toEqual([]);
  });

  test("a signature by a key the control does not trust is a 400 naming signature, and nothing is stored", async () => {
    const res = await upload(releaseForm({ version: "0.2.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, stranger.privateKey), bytes: binary }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("signature");
    expect(stored()).toEqual([]);
    expect((await t.request("GET", "/v1/agent-releases")).body.agentReleases).toEqual([]);
  });

  test("malformed fields are 400s naming them", async () => {
    const sig = signDigest(sha, trusted.privateKey);
    const cases: [Parameters<typeof releaseForm>[0], string][] = [
      [{ version: "0.2.0", architecture: "i386", sha256: sha, signature: sig, bytes: binary }, "architecture"],
      [{ version: "../x", architecture: "x86_64", sha256: sha, signature: sig, bytes: binary }, "version"],
      [{ version: "0.2.0", architecture: "x86_64", sha256: "abc", signature: sig, bytes: binary }, "sha256"],
      [{ version: "0.2.0", architecture: "x86_64", sha256: sha, signature: sig }, "file"],
    ];
    for (const [form, path] of cases) {
      const res = await upload(releaseForm(form));
      expect(res.status).toBe(400);
      expect(res.body.error.fields[0].path).toBe(path);
    }
    expect(stored()).toEqual([]);
  });

  test("uploading is for admins only", async () => {
    const op = await t.request("POST", "/v1/tokens", { name: "ops", role: "operator" });
    const res = await upload(releaseForm({ version: "0.2.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, trusted.privateKey), bytes: binary }), op.body.token);
    expect(res.status).toBe(403);
    expect(stored()).toEqual([]);
  });

  test("a verified release is stored on disk and listed; uploading it again is a 400 naming version", async () => {
    const form = () => releaseForm({ version: "0.2.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, trusted.privateKey), bytes: binary });
    const res = await upload(form());
    expect(res.status).toBe(201);
    expect(res.body.agentRelease).toMatchObject({ version: "0.2.0", architecture: "x86_64", sha256: sha, size: binary.length });
    expect(stored()).toEqual(["flotilla-agent-0.2.0-x86_64"]);
    expect(new Uint8Array(readFileSync(join(dir, "flotilla-agent-0.2.0-x86_64")))).toEqual(binary);
    const list = await t.request("GET", "/v1/agent-releases");
    expect(list.body.agentReleases.map((r: any) => `${r.version}/${r.architecture}`)).toEqual(["0.2.0/x86_64"]);
    const again = await upload(form());
    expect(again.status).toBe(400);
    expect(again.body.error.fields[0].path).toBe("version");
  });
});

describe("GET /v1/agent-releases/{version}/{arch}/binary", () => {
  const get = (path: string) => t.app.request(path);

  test("needs a download token for that very release; with one it streams the binary", async () => {
    expect((await get("/v1/agent-releases/0.2.0/x86_64/binary")).status).toBe(401);
    // An API token is not a download token.
    expect((await t.app.request("/v1/agent-releases/0.2.0/x86_64/binary", { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(401);
    const now = t.ctx.clock.now();
    const other = issueDownloadToken(releases, { version: "0.3.0", architecture: "x86_64" }, "i-1", now);
    expect((await get(`/v1/agent-releases/0.2.0/x86_64/binary?token=${other}`)).status).toBe(401);
    const forged = issueDownloadToken(store() /* another key */, { version: "0.2.0", architecture: "x86_64" }, "i-1", now);
    expect((await get(`/v1/agent-releases/0.2.0/x86_64/binary?token=${forged}`)).status).toBe(401);
    const expired = issueDownloadToken(releases, { version: "0.2.0", architecture: "x86_64" }, "i-1", now - 11 * 60_000);
    expect((await get(`/v1/agent-releases/0.2.0/x86_64/binary?token=${expired}`)).status).toBe(401);
    const token = issueDownloadToken(releases, { version: "0.2.0", architecture: "x86_64" }, "i-1", now);
    const res = await get(`/v1/agent-releases/0.2.0/x86_64/binary?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-flotilla-sha256")).toBe(sha);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(binary);
  });
});

describe("download tokens under HA", () => {
  test("processes built from one master key accept each other's tokens; another master key's are refused", () => {
    const master = randomBytes(32);
    const a = agentReleaseStore({ dir, keys: [], tokenKey: downloadTokenKey(master) });
    const b = agentReleaseStore({ dir, keys: [], tokenKey: downloadTokenKey(master) });
    const c = agentReleaseStore({ dir, keys: [], tokenKey: downloadTokenKey(randomBytes(32)) });
    const release = { version: "0.2.0", architecture: "x86_64" };
    const token = issueDownloadToken(a, release, "i-1", 1000);
    expect(checkDownloadToken(b, token, release, 1001)).toBe("i-1");
    expect(checkDownloadToken(c, token, release, 1001)).toBeNull();
  });
});
