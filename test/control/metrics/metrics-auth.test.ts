import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { scrape } from "../../helpers/prometheus.ts";

/**
 * Who may read /metrics: on the API, a token with the metrics role (or admin); every other role
 * is refused, and a metrics token reaches nothing else. The separate listener (127.0.0.1 by
 * default) serves without a token and only /metrics.
 */
let tc: TestControl;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  tc = await startTestControl({ extra: { metricsListen: { host: "127.0.0.1", port: 0 } } });
  for (const role of ["metrics", "read-only", "operator"]) {
    const res = await tc.api("POST", "/v1/tokens", { name: `t-${role}`, role });
    expect(res.status).toBe(201);
    tokens[role] = res.body.token;
  }
});
afterAll(() => tc?.stop());

const get = (path: string, token?: string, init: RequestInit = {}) =>
  fetch(tc.control.httpUrl + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers } });

describe("GET /metrics on the API", () => {
  test("without a token: 401 with a Bearer challenge", async () => {
    const res = await get("/metrics");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await res.json()) as any).error.code).toBe("UnauthorizedException");
  });

  test("an unknown token: 401", async () => {
    expect((await get("/metrics", "flt_not-a-token")).status).toBe(401);
  });

  test("read-only and operator tokens: 403 naming the role", async () => {
    for (const role of ["read-only", "operator"]) {
      const res = await get("/metrics", tokens[role]);
      expect(res.status).toBe(403);
      const body: any = await res.json();
      expect(body.error.code).toBe("AccessDeniedException");
      expect(body.error.message).toContain(`role "${role}"`);
    }
  });

  test("a metrics token and the admin token read the Prometheus text format", async () => {
    const s = await scrape(`${tc.control.httpUrl}/metrics`, tokens.metrics);
    expect(s.type("flotilla_tasks")).toBe("GAUGE");
    expect(s.type("flotilla_api_requests_total")).toBe("COUNTER");
    expect(s.value("flotilla_leader", { ha: "false" })).toBe(1);
    const admin = await scrape(`${tc.control.httpUrl}/metrics`, "test-admin-token");
    expect(admin.type("flotilla_placements_total")).toBe("COUNTER");
  });

  test("a metrics token reaches nothing but /metrics: REST, the AWS JSON door, the console", async () => {
    expect((await tc.api("GET", "/v1/clusters", undefined, tokens.metrics)).status).toBe(403);
    const aws = await fetch(`${tc.control.httpUrl}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.metrics}`, "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters", "content-type": "application/x-amz-json-1.1" },
      body: "{}",
    });
    expect(aws.status).toBe(400);
    expect(((await aws.json()) as any).__type).toContain("AccessDeniedException");
    const login = await fetch(`${tc.control.httpUrl}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: tc.control.httpUrl },
      body: `token=${encodeURIComponent(tokens.metrics!)}`,
      redirect: "manual",
    });
    expect(login.status).toBe(403);
    expect(login.headers.get("set-cookie")).toBeNull();
  });
});

describe("the token-less metrics listener", () => {
  test("binds 127.0.0.1 and serves /metrics without a token", async () => {
    expect(tc.control.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const s = await scrape(tc.control.metricsUrl!);
    expect(s.type("flotilla_container_instances")).toBe("GAUGE");
    expect(s.value("flotilla_control_process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("serves nothing else, and only reads", async () => {
    const base = tc.control.metricsUrl!.replace(/\/metrics$/, "");
    expect((await fetch(`${base}/v1/clusters`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  test("a control without metricsListen has no listener", async () => {
    // startTestControl's default (and --metrics-listen off): the API's /metrics only.
    const other = await startTestControl();
    try {
      expect(other.control.metricsUrl).toBeUndefined();
    } finally {
      await other.stop();
    }
  });
});
