import { beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { scrape, type Scrape } from "../helpers/prometheus.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * /metrics end to end: a real control service and a real agent process on the Docker engine. A
 * task run through the API moves the control's task gauge, placements, RunTask and report-apply
 * histograms and MQTT message counters, and the agent's container gauge and Docker call
 * histograms; the agent's container stats of a service's task reach the per-service gauges.
 */
const CLUSTER = "metrics-e2e";
const IMAGE = "flotilla/busybox:test";
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
let agentMetrics: string;

singleAgentCluster(CLUSTER, {
  control: { extra: { metricsListen: { host: "127.0.0.1", port: 0 } } },
  agentArgs: ["--stats-interval", "1"],
  ready: (c) => ({ tc, agent, instanceId } = c),
});

beforeAll(async () => {
  const port = await waitFor("the introspection line", () => /introspection API on http:\/\/127\.0\.0\.1:(\d+)/.exec(agent.output())?.[1]);
  agentMetrics = `http://127.0.0.1:${port}/metrics`;
  const td = await tc.api("POST", "/v1/task-definitions", {
    family: "metered",
    containerDefinitions: [{ name: "main", image: IMAGE, memory: 32, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }],
  });
  expect(td.status).toBe(201);
});

const control = () => scrape(tc.control.metricsUrl!);
const delta = (after: Scrape, before: Scrape, name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

describe("a task run through the real path", () => {
  let taskId: string;

  test("control: RUNNING gauge, placements, RunTask and report histograms, MQTT in and out rise", async () => {
    const before = await control();
    expect(before.value("flotilla_container_instances", { cluster: CLUSTER, agent: "connected" })).toBe(1);
    // The agent and the control's own client, on the embedded broker.
    expect(before.value("flotilla_mqtt_connections")).toBeGreaterThanOrEqual(2);
    expect(before.value("flotilla_mqtt_messages_total", { direction: "in", type: "presence" })).toBeGreaterThanOrEqual(1);
    expect(before.value("flotilla_mqtt_messages_total", { direction: "in", type: "register" })).toBe(1);
    expect(before.value("flotilla_mqtt_messages_total", { direction: "out", type: "register-reply" })).toBe(1);

    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "metered" });
    expect(res.status).toBe(201);
    taskId = res.body.tasks[0].taskId;
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const after = await control();
    expect(delta(after, before, "flotilla_tasks", { cluster: CLUSTER, last_status: "RUNNING" })).toBe(1);
    expect(delta(after, before, "flotilla_placements_total", { cluster: CLUSTER })).toBe(1);
    expect(after.count("flotilla_run_task_duration_seconds", { outcome: "placed" }) - before.count("flotilla_run_task_duration_seconds", { outcome: "placed" })).toBe(1);
    expect(after.count("flotilla_report_apply_duration_seconds")).toBeGreaterThan(before.count("flotilla_report_apply_duration_seconds"));
    expect(delta(after, before, "flotilla_mqtt_messages_total", { direction: "out", type: "desired" })).toBeGreaterThanOrEqual(1);
    expect(delta(after, before, "flotilla_mqtt_messages_total", { direction: "in", type: "report" })).toBeGreaterThanOrEqual(1);
    const route = { method: "POST", route: "/v1/clusters/:cluster/tasks", status: "201" };
    expect(delta(after, before, "flotilla_api_requests_total", route)).toBe(1);
  });

  test("agent: the container RUNNING, Docker calls timed, link up, generation reported", async () => {
    const s = await waitFor("the agent to have reported the latest generation", async () => {
      const now = await scrape(agentMetrics);
      return now.value("flotilla_agent_desired_generation_lag") === 0 && now.value("flotilla_agent_desired_generation", { source: "received" }) > 0 ? now : undefined;
    });
    expect(s.value("flotilla_agent_containers", { state: "RUNNING" })).toBe(1);
    expect(s.value("flotilla_agent_tasks", { state: "RUNNING" })).toBe(1);
    for (const call of ["create", "start", "list"]) expect(s.count("flotilla_agent_docker_call_duration_seconds", { call })).toBeGreaterThanOrEqual(1);
    expect(s.count("flotilla_agent_image_pull_duration_seconds", { outcome: "cached" })).toBeGreaterThanOrEqual(1);
    expect(s.value("flotilla_agent_link_connected")).toBe(1);
    expect(s.value("flotilla_agent_process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("an image that cannot be pulled: the agent counts the Docker error by ECS error class", async () => {
    await tc.api("POST", "/v1/task-definitions", { family: "unpullable", containerDefinitions: [{ name: "main", image: "127.0.0.1:9/flotilla-missing:nope", memory: 32 }] });
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "unpullable" });
    await waitTaskStatus(tc, CLUSTER, res.body.tasks[0].taskId, "STOPPED", 60_000);
    const s = await scrape(agentMetrics);
    expect(s.value("flotilla_agent_docker_call_errors_total", { call: "ensureImage", kind: "CannotPullContainerError" })).toBe(1);
    expect(s.count("flotilla_agent_image_pull_duration_seconds", { outcome: "error" })).toBe(1);
  }, 70_000);

  test("StopTask: RUNNING falls and STOPPED rises on both sides", async () => {
    const before = await control();
    expect((await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {})).status).toBe(200);
    await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    const after = await control();
    expect(delta(after, before, "flotilla_tasks", { cluster: CLUSTER, last_status: "RUNNING" })).toBe(-1);
    expect(delta(after, before, "flotilla_tasks", { cluster: CLUSTER, last_status: "STOPPED" })).toBe(1);
    const a = await scrape(agentMetrics);
    expect(a.value("flotilla_agent_containers", { state: "RUNNING" })).toBe(0);
    expect(a.count("flotilla_agent_docker_call_duration_seconds", { call: "stop" })).toBeGreaterThanOrEqual(1);
  });

  test("container stats: the agent's samples of a service's task reach the control's per-service gauges", async () => {
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: "sampled", taskDefinition: "metered", desiredCount: 1 });
    expect(res.status).toBe(201);
    const labels = { cluster: CLUSTER, service: "sampled" };
    const s = await waitFor(
      "a stats sample of the service's task",
      async () => {
        const now = await control();
        return now.value("flotilla_service_memory_bytes", labels) > 0 ? now : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(s.value("flotilla_service_sampled_tasks", labels)).toBe(1);
    expect(s.type("flotilla_service_cpu_units")).toBe("GAUGE");
    expect(s.value("flotilla_mqtt_messages_total", { direction: "in", type: "stats" })).toBeGreaterThanOrEqual(1);
    expect(s.value("flotilla_deployments", { cluster: CLUSTER })).toBe(1);
  }, 40_000);
});
