import pkg from "../../../package.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyHealth, applyPresence } from "../../../control/ops/instances.ts";
import { and, eq } from "drizzle-orm";
import { tasks } from "../../../control/db/schema.ts";
import { releaseReservation } from "../../../control/ops/tasks.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { addInstance, type TestOps } from "../../helpers/ops.ts";
import { Scrape, scrape } from "../../helpers/prometheus.ts";
import { waitFor } from "../../helpers/wait.ts";
import { FakeAgents } from "../services/fake-agents.ts";

/**
 * The control's /metrics after the action that moves each family, on a real control service
 * (database, broker, HTTP, service scheduler). The agents are stand-ins that report through
 * applyReports, the MQTT link's path (test/control/services/fake-agents.ts); the real agent's
 * side is test/integration/metrics.test.ts.
 */
const CLUSTER = "metered";
let tc: TestControl;
let agents: FakeAgents;
const instances: string[] = [];
const read = () => scrape(tc.control.metricsUrl!);

beforeAll(async () => {
  tc = await startTestControl({ extra: { metricsListen: { host: "127.0.0.1", port: 0 } } });
  expect((await tc.api("POST", "/v1/clusters", { clusterName: CLUSTER })).status).toBe(201);
  expect((await tc.api("POST", "/v1/task-definitions", { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 64 }] })).status).toBe(201);
  agents = new FakeAgents(tc.control.ctx, CLUSTER, Date.now);
});
afterAll(() => tc?.stop());

describe("container instances", () => {
  test("registered and connected instances raise the connected gauge; a disconnect moves one over", async () => {
    const before = await read();
    expect(before.value("flotilla_container_instances", { cluster: CLUSTER })).toBe(0);
    const t = { ctx: tc.control.ctx } as TestOps;
    for (let i = 0; i < 3; i++) instances.push(await addInstance(t, CLUSTER, { cpu: 4096, memory: 8192 }));
    let s = await read();
    expect(s.value("flotilla_container_instances", { cluster: CLUSTER, status: "ACTIVE", agent: "connected" })).toBe(3);
    await applyPresence(tc.control.ctx, instances[2]!, { connected: false, epoch: 99 });
    s = await read();
    expect(s.value("flotilla_container_instances", { cluster: CLUSTER, agent: "connected" })).toBe(2);
    expect(s.value("flotilla_container_instances", { cluster: CLUSTER, agent: "disconnected" })).toBe(1);
  });

  test("an IMPAIRED health reading raises the impaired gauge; OK lowers it", async () => {
    const reading = (overallStatus: "OK" | "IMPAIRED", checkedAt: number) => ({
      overallStatus,
      details: [{ type: "DISK_SPACE" as const, status: overallStatus, lastStatusChange: checkedAt, ...(overallStatus === "IMPAIRED" ? { reason: "disk 99% full" } : {}) }],
      metrics: {},
      checkedAt,
    });
    const now = Date.now();
    await applyHealth(tc.control.ctx, instances[1]!, reading("IMPAIRED", now));
    expect((await read()).value("flotilla_container_instances_impaired", { cluster: CLUSTER })).toBe(1);
    await applyHealth(tc.control.ctx, instances[1]!, reading("OK", now + 1));
    expect((await read()).value("flotilla_container_instances_impaired", { cluster: CLUSTER })).toBe(0);
  });
});

describe("RunTask, placement and reports", () => {
  test("RunTask: placements and the latency histogram rise; the instance is behind its generation until it reports", async () => {
    const before = await read();
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "web", count: 2 });
    expect(res.status).toBe(201);
    expect(res.body.tasks).toHaveLength(2);
    const s = await read();
    expect(s.value("flotilla_placements_total", { cluster: CLUSTER }) - before.value("flotilla_placements_total", { cluster: CLUSTER })).toBe(2);
    expect(s.count("flotilla_run_task_duration_seconds", { outcome: "placed" }) - before.count("flotilla_run_task_duration_seconds", { outcome: "placed" })).toBe(1);
    expect(s.value("flotilla_tasks", { cluster: CLUSTER, last_status: "PROVISIONING" })).toBe(2);
    expect(s.value("flotilla_container_instances_generation_behind", { cluster: CLUSTER })).toBeGreaterThanOrEqual(1);
  });

  test("RunTask that finds no capacity is timed as not-placed", async () => {
    const before = await read();
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "web", placementConstraints: [{ type: "memberOf", expression: "attribute:nope == x" }] });
    expect(res.body.failures.length).toBeGreaterThan(0);
    const s = await read();
    expect(s.count("flotilla_run_task_duration_seconds", { outcome: "not-placed" }) - before.count("flotilla_run_task_duration_seconds", { outcome: "not-placed" })).toBe(1);
  });

  test("reports applied through the report path: the apply histogram and counter rise, RUNNING rises, nobody is behind", async () => {
    const before = await read();
    await agents.sync();
    const s = await read();
    expect(s.count("flotilla_report_apply_duration_seconds")).toBeGreaterThan(before.count("flotilla_report_apply_duration_seconds"));
    expect(s.value("flotilla_reports_applied_total") - before.value("flotilla_reports_applied_total")).toBe(2);
    expect(s.value("flotilla_tasks", { cluster: CLUSTER, last_status: "RUNNING" }) - before.value("flotilla_tasks", { cluster: CLUSTER, last_status: "RUNNING" })).toBe(2);
    expect(s.value("flotilla_tasks", { cluster: CLUSTER, last_status: "PROVISIONING" })).toBe(0);
    expect(s.value("flotilla_container_instances_generation_behind", { cluster: CLUSTER })).toBe(0);
  });

  test("commit queue depth counts commits and releases handed to the worker and not yet answered", async () => {
    const depth = async () => new Scrape(await tc.control.metrics.registry.getSingleMetricAsString("flotilla_commit_queue_depth")).value("flotilla_commit_queue_depth");
    expect(await depth()).toBe(0);
    const running = (await tc.control.ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, CLUSTER), eq(tasks.reserved, true))).all()).slice(0, 2);
    expect(running).toHaveLength(2);
    // A release (what a STOPPED report leads to) is handed to the commit worker before its first
    // await, and the gauge is read when the scrape starts: both are in flight at that moment.
    const releases = running.map((t) => releaseReservation(tc.control.ctx, t));
    expect(await depth()).toBe(2);
    await Promise.all(releases);
    expect(await depth()).toBe(0);
  });
});

describe("services", () => {
  test("a new service: a deployment IN_PROGRESS, then COMPLETED once its task runs; reconcile lag and rounds are timed", async () => {
    const before = await read();
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: "api", taskDefinition: "web", desiredCount: 1 });
    expect(res.status).toBe(201);
    expect((await read()).value("flotilla_deployments", { cluster: CLUSTER, rollout_state: "IN_PROGRESS" })).toBe(1);
    // The lag is observed when a round starts, its duration when it ends.
    await waitFor("the scheduler to act on the new service and finish the round", async () => {
      const now = await read();
      return (
        now.count("flotilla_service_reconcile_lag_seconds") > before.count("flotilla_service_reconcile_lag_seconds") &&
        now.count("flotilla_service_reconcile_round_duration_seconds") > before.count("flotilla_service_reconcile_round_duration_seconds")
      );
    });
    await waitFor("the deployment to complete", async () => {
      await agents.sync();
      return (await read()).value("flotilla_deployments", { cluster: CLUSTER, rollout_state: "COMPLETED" }) === 1;
    });
    expect((await read()).value("flotilla_deployments", { cluster: CLUSTER, rollout_state: "IN_PROGRESS" })).toBe(0);
  }, 30_000);
});

describe("the API", () => {
  test("requests are counted by method, matched route pattern and status, never by raw path", async () => {
    const route = "/v1/clusters/:cluster/tasks/:taskId";
    const labels = { method: "GET", route, status: "200" };
    const before = await read();
    const { body } = await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`);
    const taskId: string = body.tasks[0].taskId;
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).status).toBe(200);
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`, undefined, null)).status).toBe(401);
    const s = await read();
    expect(s.value("flotilla_api_requests_total", labels) - before.value("flotilla_api_requests_total", labels)).toBe(1);
    expect(s.value("flotilla_api_requests_total", { ...labels, status: "401" }) - before.value("flotilla_api_requests_total", { ...labels, status: "401" })).toBe(1);
    expect(s.count("flotilla_api_request_duration_seconds", labels)).toBeGreaterThan(before.count("flotilla_api_request_duration_seconds", labels));
    const routes = new Set(s.family("flotilla_api_requests_total").metrics.map((m) => m.labels?.route ?? ""));
    expect([...routes].some((r) => r.includes(taskId) || r.includes(CLUSTER))).toBe(false);
  });

  test("an unknown path is counted as (unmatched)", async () => {
    const before = await read();
    expect((await tc.api("GET", "/no/such/thing")).status).toBe(404);
    const labels = { method: "GET", route: "(unmatched)", status: "404" };
    expect((await read()).value("flotilla_api_requests_total", labels) - before.value("flotilla_api_requests_total", labels)).toBe(1);
  });
});

describe("the process", () => {
  test("cpu, memory and event-loop lag of this control process, in its own registry", async () => {
    const s = await read();
    expect(s.value("flotilla_control_process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(s.value("flotilla_control_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(s.type("flotilla_control_nodejs_eventloop_lag_seconds")).toBe("GAUGE");
    expect(s.value("flotilla_leader", { ha: "false" })).toBe(1);
    // The control's own version, here and in /healthz (the release's, package.json, from source).
    expect(s.value("flotilla_control_build_info", { version: pkg.version })).toBe(1);
    expect((await tc.api("GET", "/healthz")).body).toEqual({ status: "ok", version: pkg.version });
    // The control's own MQTT client, on its embedded broker.
    expect(s.value("flotilla_mqtt_connections")).toBeGreaterThanOrEqual(1);
  });
});
