import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createApi } from "../../../control/api/app.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { captureLogs, type CapturedLogs } from "../../helpers/log-capture.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
let logs: CapturedLogs;
let app: ReturnType<typeof createApi>;
beforeEach(async () => {
  t = await createTestOps();
  logs = captureLogs({ component: "control", level: "info" });
  app = createApi(t.ctx, { log: logs.log });
});
afterEach(() => t.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  app.request(path, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json", ...headers }, body });
const requestLines = () => logs.entries().filter((e) => e.msg === "request");

describe("the API's request log", () => {
  test("one line per request: method, route pattern, path, status, duration and a new request id, echoed in x-request-id", async () => {
    const res = await call("POST", "/v1/clusters", {}, JSON.stringify({ clusterName: "edge" }));
    expect(res.status).toBe(201);
    const id = res.headers.get("x-request-id")!;
    expect(id).toMatch(UUID);
    await call("GET", "/v1/clusters/edge");
    const [created, described] = requestLines();
    expect(created).toMatchObject({ level: "info", component: "api", requestId: id, method: "POST", route: "/v1/clusters", path: "/v1/clusters", status: 201 });
    expect(described).toMatchObject({ cluster: "edge", method: "GET", route: "/v1/clusters/:cluster", path: "/v1/clusters/edge", status: 200 });
    expect(created!.cluster).toBeUndefined();
    expect(typeof created!.durationMs).toBe("number");
    expect(described!.requestId).not.toBe(id);
    expect(requestLines()).toHaveLength(2);
  });

  test("a caller's x-request-id is kept when it is a plain token, replaced when it could forge a line", async () => {
    const kept = await call("GET", "/v1/clusters", { "x-request-id": "deploy-42.step:1" });
    expect(kept.headers.get("x-request-id")).toBe("deploy-42.step:1");
    const replaced = await call("GET", "/v1/clusters", { "x-request-id": 'x" "level":"fatal' });
    expect(replaced.headers.get("x-request-id")).toMatch(UUID);
    expect(requestLines().map((e) => e.requestId)).toEqual(["deploy-42.step:1", replaced.headers.get("x-request-id")]);
  });

  test("never the Authorization header, a body or a query string; refused and unknown calls are logged too", async () => {
    const marker = "body-marker-0f3a";
    await call("POST", "/v1/secrets", {}, JSON.stringify({ name: "x", value: marker }));
    await app.request("/v1/clusters?token=query-secret-77", { headers: { authorization: "Bearer wrong-token-99" } });
    await call("GET", "/v1/nowhere");
    const text = logs.lines.join("\n");
    for (const v of [TEST_TOKEN, "wrong-token-99", marker, "query-secret-77"]) expect(text).not.toContain(v);
    expect(text.toLowerCase()).not.toContain("bearer");
    expect(requestLines().map((e) => [e.path, e.status])).toEqual([
      ["/v1/secrets", 404],
      ["/v1/clusters", 401],
      ["/v1/nowhere", 404],
    ]);
  });

  test("at --log-level warn a successful request writes no line; a server error still does, as an error", async () => {
    const quiet = captureLogs({ level: "warn" });
    const warnApp = createApi(t.ctx, { log: quiet.log });
    warnApp.get("/boom", () => {
      throw new Error("boom");
    });
    expect((await warnApp.request("/healthz")).status).toBe(200);
    expect(quiet.lines).toEqual([]);
    const res = await warnApp.request("/boom");
    expect(res.status).toBe(500);
    const id = res.headers.get("x-request-id");
    expect(quiet.entries().map((e) => [e.level, e.component, e.msg.split(" ")[0], e.requestId])).toEqual([
      ["error", "api", "internal", id],
      ["error", "api", "request", id],
    ]);
  });
});
