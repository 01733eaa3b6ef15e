import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cli } from "./run-cli.ts";

/**
 * The services API is built separately; these tests pin the CLI's side of the contract
 * (POST/GET/PATCH/DELETE /v1/clusters/{c}/services[/{name}], /events) with a scripted server
 * that walks a deployment through the states the real scheduler reports.
 */
type Script = { calls: number; states: any[] };
const scripts = new Map<string, Script>();
const requests: { method: string; path: string; body: unknown }[] = [];
let server: ReturnType<typeof Bun.serve>;
let env: Record<string, string>;

const dep = (status: string, td: string, running: number, desired: number, rolloutState: string) => ({
  id: `ecs-svc/${td}`,
  status,
  taskDefinition: `arn:flotilla:ecs:local:0:task-definition/${td}`,
  desiredCount: desired,
  runningCount: running,
  pendingCount: desired - running,
  failedTasks: 0,
  rolloutState,
});
const svc = (name: string, running: number, deployments: any[]) => ({
  serviceName: name,
  status: "ACTIVE",
  desiredCount: 2,
  runningCount: running,
  pendingCount: 0,
  deployments,
});

beforeAll(() => {
  scripts.set("rolling", {
    calls: 0,
    states: [
      svc("rolling", 2, [dep("PRIMARY", "web:2", 0, 2, "IN_PROGRESS"), dep("ACTIVE", "web:1", 2, 2, "COMPLETED")]),
      svc("rolling", 2, [dep("PRIMARY", "web:2", 1, 2, "IN_PROGRESS"), dep("ACTIVE", "web:1", 1, 1, "COMPLETED")]),
      svc("rolling", 2, [dep("PRIMARY", "web:2", 2, 2, "COMPLETED")]),
    ],
  });
  scripts.set("broken", {
    calls: 0,
    states: [
      svc("broken", 2, [dep("PRIMARY", "web:3", 0, 2, "IN_PROGRESS"), dep("ACTIVE", "web:2", 2, 2, "COMPLETED")]),
      svc("broken", 2, [{ ...dep("PRIMARY", "web:3", 0, 2, "FAILED"), rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }]),
    ],
  });
  scripts.set("stuck", { calls: 0, states: [svc("stuck", 1, [dep("PRIMARY", "web:1", 1, 2, "IN_PROGRESS")])] });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      requests.push({ method: req.method, path: url.pathname + url.search, body: text ? JSON.parse(text) : undefined });
      const m = url.pathname.match(/^\/v1\/clusters\/([^/]+)\/services(?:\/([^/]+))?(\/events)?$/);
      if (!m) return Response.json({ error: { code: "NotFound", message: "no route" } }, { status: 404 });
      const [, , name, events] = m;
      if (req.method === "POST" && !name) {
        const body = JSON.parse(text);
        if (body.desiredCount < 0) return Response.json({ error: { code: "InvalidParameterException", message: "invalid service", fields: [{ path: "desiredCount", message: "must be >= 0" }] } }, { status: 400 });
        return Response.json({ service: { ...svc(body.serviceName, 0, []), status: "ACTIVE" } }, { status: 201 });
      }
      if (req.method === "GET" && !name) return Response.json({ services: [svc("rolling", 2, [dep("PRIMARY", "web:2", 2, 2, "COMPLETED")])] });
      if (events) return Response.json({ events: [{ id: "2", createdAt: "2026-01-01T00:00:02Z", message: "(service rolling) has reached a steady state." }, { id: "1", createdAt: "2026-01-01T00:00:01Z", message: "(service rolling) has started 2 tasks." }] });
      const script = scripts.get(name!);
      if (!script) return Response.json({ error: { code: "ServiceNotFoundException", message: `service "${name}" not found` } }, { status: 404 });
      if (req.method === "PATCH") return Response.json({ service: script.states[0] });
      const state = script.states[Math.min(script.calls++, script.states.length - 1)];
      return Response.json({ service: state });
    },
  });
  env = { FLOTILLA_API_URL: `http://127.0.0.1:${server.port}`, FLOTILLA_TOKEN: "t" };
});
afterAll(() => server.stop(true));

describe("flotilla services", () => {
  test("wait-stable shows per-deployment progress and succeeds once one deployment runs all tasks", async () => {
    const r = await cli(["services", "wait-stable", "rolling", "-c", "edge", "--interval", "50"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("PRIMARY web:2: running 0/2");
    expect(r.stderr).toContain("PRIMARY web:2: running 1/2, pending 1 (IN_PROGRESS) | ACTIVE web:1: running 1/1");
    expect(r.stdout).toContain("service rolling is stable: 2/2 running");
  });

  test("wait-stable exits 1 naming the reason when the rollout FAILED", async () => {
    const r = await cli(["services", "wait-stable", "broken", "--interval", "50"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("flotilla: service broken deployment failed: ECS deployment circuit breaker: tasks failed to start.");
  });

  test("wait-stable exits 1 at its timeout", async () => {
    const r = await cli(["services", "wait-stable", "stuck", "--interval", "100", "--timeout", "1"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("timed out after 1s waiting for service stuck");
  });

  test("create and update send the ECS request shapes", async () => {
    requests.length = 0;
    const c = await cli(["services", "create", "web", "-c", "edge", "--task-definition", "web:1", "--desired-count", "4", "--max-percent", "150", "--circuit-breaker", "true", "--rollback", "true"], env);
    expect(c.code).toBe(0);
    expect(requests[0]).toEqual({
      method: "POST",
      path: "/v1/clusters/edge/services",
      body: { serviceName: "web", taskDefinition: "web:1", desiredCount: 4, deploymentConfiguration: { maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } } },
    });
    const u = await cli(["services", "update", "rolling", "-c", "edge", "--task-definition", "web:2", "--force-new-deployment"], env);
    expect(u.code).toBe(0);
    expect(requests[1]).toEqual({ method: "PATCH", path: "/v1/clusters/edge/services/rolling", body: { taskDefinition: "web:2", forceNewDeployment: true } });
    const none = await cli(["services", "update", "rolling"], env);
    expect(none.code).toBe(2);
  });

  test("list, events and API errors with field paths", async () => {
    const l = await cli(["services", "list"], env);
    expect(l.stdout).toMatch(/rolling\s+ACTIVE/);
    const e = await cli(["services", "events", "rolling", "--limit", "1"], env);
    expect(e.stdout).toContain("has reached a steady state");
    expect(e.stdout).not.toContain("has started 2 tasks");
    const bad = await cli(["services", "create", "x", "--task-definition", "web:1", "-f", "/dev/null"], env);
    expect(bad.code).toBe(2);
    const missing = await cli(["services", "describe", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('flotilla: ServiceNotFoundException: service "nope" not found\n');
  });
});
