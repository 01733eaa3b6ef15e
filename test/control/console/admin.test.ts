import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { findToken } from "../../../control/ops/tokens.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

let h: ConsoleHarness;
beforeAll(async () => {
  h = await consoleHarness();
});
afterAll(() => h.close());

describe("tokens and audit pages: admin only, as in the API", () => {
  test("an admin creates a token (shown once), sees it listed, and revokes it after a confirmation", async () => {
    const { cookie, csrf } = await h.login();
    const created = await h.post("/console/tokens", cookie, { _csrf: csrf, name: "line-3", role: "read-only" });
    expect(created.status).toBe(201);
    const secret = /<code id="new-token">([^<]+)<\/code>/.exec(created.html)![1]!;
    const row = (await findToken(h.t.ctx, secret))!;
    expect(row.role).toBe("read-only");
    const list = await h.get("/console/tokens", cookie);
    expect(list.html).toContain("line-3");
    expect(list.html).not.toContain(secret);
    const ask = await h.post(`/console/tokens/${row.id}/revoke`, cookie, { _csrf: csrf });
    expect(ask.html).toContain("Yes, revoke");
    expect(await findToken(h.t.ctx, secret)).toBeDefined();
    const done = await h.post(`/console/tokens/${row.id}/revoke`, cookie, { _csrf: csrf, confirm: "yes" });
    expect(done.status).toBe(303);
    expect(await findToken(h.t.ctx, secret)).toBeUndefined();
  });

  test("a bad name is shown at its field", async () => {
    const { cookie, csrf } = await h.login();
    const res = await h.post("/console/tokens", cookie, { _csrf: csrf, name: "<b>", role: "admin" });
    expect(res.status).toBe(400);
    expect(res.html).toContain('data-field-path="name"');
  });

  test("the audit page lists console actions as the REST calls they stood for", async () => {
    const { cookie } = await h.login();
    const page = await h.get("/console/audit", cookie);
    expect(page.status).toBe(200);
    expect(page.html).toContain("CreateToken");
    expect(page.html).toContain("POST /v1/tokens (console)");
  });

  test("an operator has no Tokens or Audit link and is refused both pages and a token post", async () => {
    const { cookie, csrf } = await h.login(await h.token("operator"));
    const overview = await h.get("/console", cookie);
    expect(overview.html).not.toContain('href="/console/tokens"');
    expect(overview.html).not.toContain('href="/console/audit"');
    expect((await h.get("/console/tokens", cookie)).status).toBe(403);
    expect((await h.get("/console/audit", cookie)).status).toBe(403);
    const post = await h.post("/console/tokens", cookie, { _csrf: csrf, name: "sneaky", role: "admin" });
    expect(post.status).toBe(403);
    expect((await h.t.request("GET", "/v1/tokens")).body.tokens.map((t: { name: string }) => t.name)).not.toContain("sneaky");
  });
});

describe("session expiry", () => {
  test("a session expires after 8 hours", async () => {
    let now = Date.now();
    const timed = await consoleHarness({ now: () => now });
    try {
      const { cookie } = await timed.login();
      now += 8 * 3600_000 - 1000;
      expect((await timed.get("/console", cookie)).status).toBe(200);
      now += 2000;
      const after = await timed.get("/console", cookie);
      expect(after.status).toBe(303);
      expect(after.location).toBe("/console/login");
    } finally {
      timed.close();
    }
  });
});

describe("request size", () => {
  test("a body over 1 MiB is refused with 413", async () => {
    const { cookie, csrf } = await h.login();
    const res = await h.post("/console/task-definitions", cookie, { _csrf: csrf, json: "x".repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
  });
});
