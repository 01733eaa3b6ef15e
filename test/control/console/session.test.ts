import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { revokeToken } from "../../../control/ops/tokens.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

let h: ConsoleHarness;
beforeAll(async () => {
  h = await consoleHarness();
  await h.t.request("POST", "/v1/clusters", { clusterName: "shop" });
});
afterAll(() => h.close());

describe("console login and session", () => {
  test("a page without a session redirects to the login page", async () => {
    const res = await h.get("/console", "");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/console/login");
    expect((await h.get("/console/login", "")).html).toContain('name="token"');
  });

  test("a wrong token is refused and sets no cookie", async () => {
    const res = await h.app.request("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=nope" });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("not valid");
  });

  test("the session cookie is HttpOnly, SameSite=Strict, scoped to /console, expires; not Secure over plain HTTP", async () => {
    const { setCookie } = await h.login();
    expect(setCookie).toMatch(/^flotilla_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/console");
    expect(setCookie).toMatch(/Max-Age=28800/);
    expect(setCookie).not.toContain("Secure");
  });

  test("a login posted from another site is refused (login CSRF)", async () => {
    const res = await h.app.request("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" }, body: new URLSearchParams({ token: "test-admin-token" }) });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  test("over TLS the cookie is also Secure", async () => {
    const { setCookie } = await h.login(undefined, "https://control.example");
    expect(setCookie).toContain("Secure");
  });

  test("logout ends the session on the server: the old cookie no longer opens a page", async () => {
    const { cookie, csrf } = await h.login();
    expect((await h.get("/console", cookie)).status).toBe(200);
    const out = await h.post("/console/logout", cookie, { _csrf: csrf });
    expect(out.status).toBe(303);
    const after = await h.get("/console", cookie);
    expect(after.status).toBe(303);
    expect(after.location).toBe("/console/login");
  });

  test("revoking the token ends its console sessions at once", async () => {
    const token = await h.token("operator");
    const { cookie } = await h.login(token);
    expect((await h.get("/console", cookie)).status).toBe(200);
    const { listTokens } = await import("../../../control/ops/tokens.ts");
    const row = (await listTokens(h.t.ctx)).find((r) => r.name === "t-operator")!;
    await revokeToken(h.t.ctx, row.id);
    expect((await h.get("/console", cookie)).status).toBe(303);
  });
});

describe("page headers", () => {
  test("pages are not cached, not framed, and run scripts only from the control", async () => {
    const { cookie } = await h.login();
    const res = await h.app.request("/console", { headers: { cookie } });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    // The login page too (it is where a token is typed).
    expect((await h.app.request("/console/login")).headers.get("content-security-policy")).toBe(csp);
  });
});

describe("CSRF", () => {
  test("a state-changing request without the CSRF token, or with a wrong one, is refused with 403 and changes nothing", async () => {
    const { cookie, csrf } = await h.login();
    const before = await h.get("/console/clusters/shop/activations", cookie);
    const count = (before.html.match(/<tr>/g) ?? []).length;
    const none = await h.post("/console/clusters/shop/activations", cookie, { registrationLimit: "1", expiresInHours: "1" });
    expect(none.status).toBe(403);
    const wrong = await h.post("/console/clusters/shop/activations", cookie, { _csrf: csrf.slice(0, -2) + "xx", registrationLimit: "1", expiresInHours: "1" });
    expect(wrong.status).toBe(403);
    const after = await h.get("/console/clusters/shop/activations", cookie);
    expect((after.html.match(/<tr>/g) ?? []).length).toBe(count);
    // The same form with the token goes through: the refusals above were the CSRF check.
    const ok = await h.post("/console/clusters/shop/activations", cookie, { _csrf: csrf, registrationLimit: "1", expiresInHours: "1" });
    expect(ok.status).toBe(201);
  });

  test("the token may come in the X-CSRF-Token header (fetch)", async () => {
    const { cookie, csrf } = await h.login();
    const res = await h.post("/console/clusters/shop/activations", cookie, { registrationLimit: "1", expiresInHours: "1" }, { "x-csrf-token": csrf });
    expect(res.status).toBe(201);
  });

  test("a request from another origin (or an opaque one) is refused even with the right token", async () => {
    const { cookie, csrf } = await h.login();
    const res = await h.post("/console/clusters/shop/activations", cookie, { _csrf: csrf, registrationLimit: "1", expiresInHours: "1" }, { origin: "http://evil.example" });
    expect(res.status).toBe(403);
    const opaque = await h.post("/console/clusters/shop/activations", cookie, { _csrf: csrf, registrationLimit: "1", expiresInHours: "1" }, { origin: "null" });
    expect(opaque.status).toBe(403);
    const fetchSite = await h.post("/console/clusters/shop/activations", cookie, { _csrf: csrf, registrationLimit: "1", expiresInHours: "1" }, { "sec-fetch-site": "cross-site" });
    expect(fetchSite.status).toBe(403);
  });

  test("a session's CSRF token does not work for another session", async () => {
    const a = await h.login();
    const b = await h.login();
    const res = await h.post("/console/clusters/shop/activations", a.cookie, { _csrf: b.csrf, registrationLimit: "1", expiresInHours: "1" });
    expect(res.status).toBe(403);
  });
});
