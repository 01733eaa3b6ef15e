import { afterEach, describe, expect, test } from "bun:test";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import { introspectionApp } from "../../../agent/introspection/server.ts";
import type { AgentLink, LinkHandlers } from "../../../agent/link/mqtt-link.ts";
import { AgentMetrics } from "../../../agent/metrics/agent-metrics.ts";
import { instrumentRuntime } from "../../../agent/metrics/instrumented-runtime.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { Scrape } from "../../helpers/prometheus.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The agent's /metrics (introspection port) from the real agent (createAgent: engine, runners,
 * observer, reports) on the in-memory runtime, instrumented as agent/main.ts instruments Docker;
 * the link is a stand-in the test connects and disconnects. test/integration/metrics.test.ts
 * reads the same families from a real agent process on Docker.
 */
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const instanceId = "0123456789abcdef0123456789abcdef";
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

/** A link the test drives: up at start, then down and up again on demand. */
function drivenLink() {
  let handlers: LinkHandlers | undefined;
  const state = { connected: false, reports: [] as number[] };
  const link: AgentLink = {
    start: async (h) => {
      handlers = h;
      state.connected = true;
      h.onConnected();
    },
    publishReport: (r) => (state.connected ? (state.reports.push(r.generation), true) : false),
    publishResponse: () => state.connected,
    publishStats: () => state.connected,
    get connected() {
      return state.connected;
    },
    stop: async () => {},
  };
  return {
    link,
    state,
    desired: (d: DesiredState) => handlers!.onDesired(d),
    drop: () => {
      state.connected = false;
      handlers!.onDisconnected?.();
    },
    reconnect: () => {
      state.connected = true;
      handlers!.onConnected();
    },
  };
}

type Def = { name: string; image?: string; restartPolicy?: { enabled: boolean; ignoredExitCodes: number[]; restartAttemptPeriod: number } };
function desired(generation: number, tasks: { taskId: string; containers: Def[]; desiredStatus?: "RUNNING" | "STOPPED" }[]): DesiredState {
  return {
    instanceId,
    clusterName: "c",
    generation,
    tasks: tasks.map((t) => ({
      taskId: t.taskId,
      taskArn: `arn:${t.taskId}`,
      family: "f",
      revision: 1,
      taskDefinitionArn: "arn:f:1",
      desiredStatus: t.desiredStatus ?? "RUNNING",
      definition: { family: "f", containerDefinitions: t.containers.map((c) => ({ image: "nginx", memory: 64, ...c })) },
    })),
  };
}

function start(opts: { unpullable?: string[]; now?: () => number } = {}) {
  const metrics = new AgentMetrics();
  const hollow = new HollowRuntime({ timings: fast, cachedImages: ["nginx"], unpullableImages: opts.unpullable, now: opts.now });
  const driven = drivenLink();
  agent = createAgent({
    runtime: instrumentRuntime(hollow, metrics),
    link: driven.link,
    store: memoryStateStore(),
    instanceId,
    clusterName: "c",
    facts: { hostname: "h", resources: { cpu: 2048, memory: 4096 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } },
    imagePullBehavior: "prefer-cached",
    relistIntervalMs: 20,
    reportDelayMs: 1,
    resyncIntervalMs: 0,
    statsIntervalMs: 0,
    metrics,
    now: opts.now,
  });
  const a = agent;
  const app = introspectionApp({ instanceId, containerInstanceArn: "arn:ci", clusterName: "c", connected: () => driven.link.connected, state: () => a.engine.state, metrics: () => metrics.text() });
  const read = async () => {
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    return new Scrape(await res.text());
  };
  return { agent: a, hollow, driven, read };
}

describe("agent /metrics", () => {
  test("containers and tasks by state, Docker call latency, image pulls, generations", async () => {
    const { agent: a, driven, read } = start();
    await a.start();
    let s = await read();
    expect(s.value("flotilla_agent_containers")).toBe(0);
    expect(s.value("flotilla_agent_link_connected")).toBe(1);

    driven.desired(desired(1, [{ taskId: "t1", containers: [{ name: "web" }, { name: "side" }] }]));
    await waitFor("t1 RUNNING", () => a.engine.state.tasks.t1?.knownStatus === "RUNNING");
    await waitFor("generation 1 reported", () => driven.state.reports.includes(1));
    s = await read();
    expect(s.value("flotilla_agent_containers", { state: "RUNNING" })).toBe(2);
    expect(s.value("flotilla_agent_tasks", { state: "RUNNING" })).toBe(1);
    expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "create" })).toBeGreaterThanOrEqual(2);
    expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "start" })).toBeGreaterThanOrEqual(2);
    expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "list" })).toBeGreaterThanOrEqual(1);
    // prefer-cached and the image is there: the engine had it, no pull.
    expect(s.count("flotilla_agent_image_pull_duration_seconds", { outcome: "cached" })).toBe(2);
    expect(s.value("flotilla_agent_desired_generation", { source: "received" })).toBe(1);
    expect(s.value("flotilla_agent_desired_generation", { source: "applied" })).toBe(1);
    expect(s.value("flotilla_agent_desired_generation", { source: "reported" })).toBe(1);
    expect(s.value("flotilla_agent_desired_generation_lag")).toBe(0);

    driven.desired(desired(2, [{ taskId: "t1", containers: [{ name: "web" }, { name: "side" }], desiredStatus: "STOPPED" }]));
    await waitFor("t1 STOPPED", () => a.engine.state.tasks.t1?.knownStatus === "STOPPED");
    s = await read();
    expect(s.value("flotilla_agent_containers", { state: "STOPPED" })).toBe(2);
    expect(s.value("flotilla_agent_containers", { state: "RUNNING" })).toBe(0);
    expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "stop" })).toBeGreaterThanOrEqual(2);
  });

  test("a failed pull: the Docker error by call and ECS error class, the pull timed as an error", async () => {
    const { agent: a, driven, read } = start({ unpullable: ["ghost:1"] });
    await a.start();
    driven.desired(desired(1, [{ taskId: "t1", containers: [{ name: "web", image: "ghost:1" }] }]));
    await waitFor("t1 STOPPED", () => a.engine.state.tasks.t1?.knownStatus === "STOPPED");
    const s = await read();
    expect(s.value("flotilla_agent_docker_call_errors_total", { call: "ensureImage", kind: "CannotPullContainerError" })).toBe(1);
    expect(s.count("flotilla_agent_image_pull_duration_seconds", { outcome: "error" })).toBe(1);
  });

  test("link state and reconnects; a desired set not yet reported is lag", async () => {
    const { agent: a, driven, read } = start();
    await a.start();
    expect((await read()).value("flotilla_agent_link_reconnects_total")).toBe(0);
    driven.drop();
    let s = await read();
    expect(s.value("flotilla_agent_link_connected")).toBe(0);
    // Received just as the link dropped: applied, but the control has not been told.
    driven.desired(desired(3, []));
    s = await read();
    expect(s.value("flotilla_agent_desired_generation", { source: "applied" })).toBe(3);
    expect(s.value("flotilla_agent_desired_generation_lag")).toBe(3);
    driven.reconnect();
    await waitFor("generation 3 reported", () => driven.state.reports.includes(3));
    s = await read();
    expect(s.value("flotilla_agent_link_connected")).toBe(1);
    expect(s.value("flotilla_agent_link_reconnects_total")).toBe(1);
    expect(s.value("flotilla_agent_desired_generation_lag")).toBe(0);
  });

  test("a container restarted by its restartPolicy while the link is down counts as applied offline", async () => {
    // The engine's clock runs two minutes ahead after start, past the 60 s restartAttemptPeriod.
    let skew = 0;
    const now = () => Date.now() + skew;
    const { agent: a, hollow, driven, read } = start({ now });
    await a.start();
    const policy = { enabled: true, ignoredExitCodes: [], restartAttemptPeriod: 60 };
    driven.desired(desired(1, [{ taskId: "t1", containers: [{ name: "web", restartPolicy: policy }] }]));
    await waitFor("t1 RUNNING", () => a.engine.state.tasks.t1?.knownStatus === "RUNNING");
    const id = a.engine.state.tasks.t1!.containers[0]!.runtimeId!;
    skew = 120_000;
    driven.drop();
    hollow.exit(id, 3);
    await waitFor("the restart", () => (a.engine.state.tasks.t1?.containers[0]?.restartCount ?? 0) === 1);
    let s = await read();
    expect(s.value("flotilla_agent_container_restarts_total", { link: "disconnected" })).toBe(1);
    expect(s.value("flotilla_agent_container_restarts_total", { link: "connected" })).toBe(0);
    driven.reconnect();
    skew = 240_000;
    hollow.exit(id, 3);
    await waitFor("the second restart", () => (a.engine.state.tasks.t1?.containers[0]?.restartCount ?? 0) === 2);
    s = await read();
    expect(s.value("flotilla_agent_container_restarts_total", { link: "connected" })).toBe(1);
  });

  test("process memory and cpu, in the agent's own registry", async () => {
    const { agent: a, read } = start();
    await a.start();
    const s = await read();
    expect(s.value("flotilla_agent_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(s.type("flotilla_agent_process_cpu_seconds_total")).toBe("COUNTER");
    // Two agents in one process: each registry counts only its own.
    expect(s.families.has("flotilla_tasks")).toBe(false);
  });
});
