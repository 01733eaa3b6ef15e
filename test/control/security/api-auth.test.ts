import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
beforeEach(async () => {
  t = await createTestOps();
});
afterEach(() => t.close());

async function token(role: string, name = `${role}-token`): Promise<{ tokenId: string; token: string }> {
  const res = await t.request("POST", "/v1/tokens", { name, role });
  expect(res.status).toBe(201);
  return res.body;
}

describe("API tokens and roles", () => {
  test("401 without a token, with a malformed header and with an unknown token; healthz stays open", async () => {
    expect((await t.request("GET", "/v1/clusters", undefined, null)).status).toBe(401);
    expect((await t.request("GET", "/v1/clusters", undefined, "not-a-token")).status).toBe(401);
    const malformed = await t.app.request("/v1/clusters", { headers: { authorization: "Basic abc" } });
    expect(malformed.status).toBe(401);
    expect((await t.app.request("/healthz")).status).toBe(200);
  });

  test("a created token is shown once, listed without its secret, and works", async () => {
    const created = await token("operator", "ci");
    expect(created).toMatchObject({ name: "ci", role: "operator" });
    expect(created.token).toMatch(/^flt_/);
    const list = await t.request("GET", "/v1/tokens");
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(created.token);
    expect(list.body.tokens.map((x: any) => x.tokenId)).toContain(created.tokenId);
    expect(list.body.tokens.every((x: any) => !("token" in x) && !("tokenHash" in x))).toBe(true);
    expect((await t.request("POST", "/v1/clusters", { clusterName: "ops" }, created.token)).status).toBe(201);
  });

  test("a revoked token is refused at once", async () => {
    const { tokenId, token: secret } = await token("admin", "temp");
    expect((await t.request("GET", "/v1/clusters", undefined, secret)).status).toBe(200);
    expect((await t.request("DELETE", `/v1/tokens/${tokenId}`)).status).toBe(200);
    const after = await t.request("GET", "/v1/clusters", undefined, secret);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("UnauthorizedException");
  });

  test("read-only may only read", async () => {
    const ro = (await token("read-only")).token;
    expect((await t.request("GET", "/v1/clusters", undefined, ro)).status).toBe(200);
    const post = await t.request("POST", "/v1/clusters", { clusterName: "x" }, ro);
    expect(post.status).toBe(403);
    expect(post.body.error.code).toBe("AccessDeniedException");
    expect((await t.request("POST", "/v1/task-definitions", WEBSERVER, ro)).status).toBe(403);
    expect((await t.request("GET", "/v1/tokens", undefined, ro)).status).toBe(403);
    expect((await t.request("GET", "/v1/audit", undefined, ro)).status).toBe(403);
    // Nothing was created by the refused calls.
    expect((await t.request("GET", "/v1/clusters")).body.clusters).toEqual([]);
  });

  test("operator may do everything but tokens and the audit log", async () => {
    const op = (await token("operator")).token;
    expect((await t.request("POST", "/v1/clusters", { clusterName: "edge" }, op)).status).toBe(201);
    expect((await t.request("POST", "/v1/task-definitions", WEBSERVER, op)).status).toBe(201);
    expect((await t.request("POST", "/v1/tokens", { name: "escalate", role: "admin" }, op)).status).toBe(403);
    expect((await t.request("GET", "/v1/tokens", undefined, op)).status).toBe(403);
    expect((await t.request("DELETE", "/v1/tokens/admin", undefined, op)).status).toBe(403);
    expect((await t.request("GET", "/v1/audit", undefined, op)).status).toBe(403);
  });

  test("token input is strict: unknown fields and bad roles are 400 with their paths", async () => {
    const extra = await t.request("POST", "/v1/tokens", { name: "x", role: "admin", isRoot: true });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.body.error)).toContain("isRoot");
    const role = await t.request("POST", "/v1/tokens", { name: "x", role: "root" });
    expect(role.status).toBe(400);
    expect(role.body.error.fields[0].path).toBe("role");
  });

  test("a token cannot revoke itself; unknown ids are 404", async () => {
    expect((await t.request("DELETE", "/v1/tokens/admin")).status).toBe(400);
    expect((await t.request("DELETE", "/v1/tokens/nope")).status).toBe(404);
  });
});

describe("audit log", () => {
  test("records every mutating call with who, what, when and result, refusals included", async () => {
    const op = await token("operator", "deployer");
    await t.request("POST", "/v1/clusters", { clusterName: "edge" }, op.token);
    await t.request("POST", "/v1/tokens", { name: "nope", role: "admin" }, op.token);
    await t.request("DELETE", "/v1/clusters/edge", undefined, null);
    await t.request("GET", "/v1/clusters", undefined, op.token);
    const res = await t.request("GET", "/v1/audit");
    expect(res.status).toBe(200);
    const entries = res.body.entries as any[];
    // Newest first; reads are not audited.
    expect(entries.map((e) => [e.method, e.path, e.action, e.status])).toEqual([
      ["DELETE", "/v1/clusters/edge", "DeleteCluster", 401],
      ["POST", "/v1/tokens", "CreateToken", 403],
      ["POST", "/v1/clusters", "CreateCluster", 201],
      ["POST", "/v1/tokens", "CreateToken", 201],
    ]);
    expect(entries[0].who).toBeNull();
    expect(entries[1].who).toEqual({ tokenId: op.tokenId, name: "deployer" });
    expect(entries[3].who).toEqual({ tokenId: "admin", name: "admin" });
    expect(Date.parse(entries[0].at)).toBeGreaterThan(0);
    // Token secrets never reach the audit log.
    expect(JSON.stringify(entries)).not.toContain(op.token);
  });

  test("errors are recorded with their status and carry no stack trace", async () => {
    const bad = await t.request("POST", "/v1/clusters", "{not json");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).not.toMatch(/\bat .*\.ts:\d+/);
    const entries = (await t.request("GET", "/v1/audit")).body.entries as any[];
    expect(entries[0]).toMatchObject({ action: "CreateCluster", status: 400 });
  });
});
