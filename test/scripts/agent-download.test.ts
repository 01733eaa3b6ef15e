import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { activation } from "../helpers/fleet.ts";

let tc: TestControl;
const dist = mkdtempSync(join(tmpdir(), "flotilla-dist-"));
const x64 = Buffer.from("pretend x64 agent binary\n".repeat(1000));
const prevDist = process.env.FLOTILLA_DIST_DIR;

beforeAll(async () => {
  process.env.FLOTILLA_DIST_DIR = dist;
  writeFileSync(join(dist, "flotilla-agent-linux-x64"), x64);
  tc = await startTestControl();
});
afterAll(async () => {
  await tc.stop();
  if (prevDist === undefined) delete process.env.FLOTILLA_DIST_DIR;
  else process.env.FLOTILLA_DIST_DIR = prevDist;
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(tc.control.httpUrl + path, { headers });
const sha = createHash("sha256").update(x64).digest("hex");

describe("GET /v1/agent/download", () => {
  test("streams the binary with its sha256 for every spelling of the architecture (bearer token)", async () => {
    for (const arch of ["amd64", "x86_64", "x64"]) {
      const res = await get(`/v1/agent/download?arch=${arch}`, { authorization: `Bearer ${TEST_TOKEN}` });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-flotilla-sha256")).toBe(sha);
      expect(Buffer.from(await res.arrayBuffer()).equals(x64)).toBe(true);
    }
    const digest = await get("/v1/agent/download/sha256?arch=x86_64", { authorization: `Bearer ${TEST_TOKEN}` });
    expect(await digest.text()).toBe(`${sha}  flotilla-agent-linux-x64\n`);
  });

  test("a valid activation id and code may download without a token; wrong ones may not", async () => {
    const act = await activation(tc, "dl", 1);
    const ok = await get("/v1/agent/download/sha256?arch=amd64", { "x-flotilla-activation-id": act.activationId, "x-flotilla-activation-code": act.activationCode });
    expect(ok.status).toBe(200);
    const wrong = await get("/v1/agent/download?arch=amd64", { "x-flotilla-activation-id": act.activationId, "x-flotilla-activation-code": "guess" });
    expect(wrong.status).toBe(401);
    const none = await get("/v1/agent/download?arch=amd64");
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe("UnauthorizedException");
  });

  test("unknown architecture is a 400 naming arch; a binary not built is a 404 saying how to build it", async () => {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const bad = await get("/v1/agent/download?arch=armv7l", auth);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as any;
    expect(body.error.fields[0].path).toBe("arch");
    expect(body.error.message).toContain('got "armv7l"');
    const missing = await get("/v1/agent/download?arch=aarch64", auth);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.message).toContain("scripts/build-agent");
  });
});
