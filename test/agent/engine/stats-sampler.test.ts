import { afterEach, describe, expect, test } from "bun:test";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import type { AgentLink } from "../../../agent/link/mqtt-link.ts";
import { DEFAULT_STATS_INTERVAL_MS } from "../../../agent/engine/stats-sampler.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { containerUsage } from "../../../agent/runtime/stats-usage.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { decodeMessage, statsMessageSchema, type DesiredState, type StatsMessage } from "../../../shared/messages.ts";
import { topics } from "../../../shared/topics.ts";
import { LABELS } from "../../../shared/labels.ts";
import { kbitPerSecond, mqttPublishBytes, TCP_IP_HEADER_BYTES } from "../../../scripts/bench/lib/mqtt-bytes.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The agent's container stats sampler (agent/engine/stats-sampler.ts) in the real agent on the
 * in-memory runtime: readings of running containers reach the link's stats message, nothing else.
 */
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const instanceId = "0123456789abcdef0123456789abcdef";
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

/** A link that is always connected and keeps what the agent sends through it. */
function recordingLink() {
  const stats: string[] = [];
  const link: AgentLink = {
    start: async (h) => h.onConnected(),
    publishReport: () => true,
    publishResponse: () => true,
    // As MqttAgentLink does: the message goes out as JSON, and the control parses it back.
    publishStats: (m) => (stats.push(JSON.stringify(m)), true),
    connected: true,
    stop: async () => {},
  };
  return { link, stats };
}

function desired(tasks: { taskId: string; containers: string[]; desiredStatus?: "RUNNING" | "STOPPED" }[], generation = 1): DesiredState {
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
      definition: { family: "f", containerDefinitions: t.containers.map((name) => ({ name, image: "nginx", memory: 64 })) },
    })),
  };
}

const USE: Record<string, { cpuUnits: number; memoryBytes: number }> = { web: { cpuUnits: 512, memoryBytes: 50_000_000 }, sidecar: { cpuUnits: 64, memoryBytes: 8_000_000 } };

async function startAgent(statsIntervalMs: number) {
  const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"], usage: (spec) => USE[spec.labels[LABELS.containerName]!] ?? { cpuUnits: 0, memoryBytes: 0 } });
  const { link, stats } = recordingLink();
  agent = createAgent({ runtime: rt, link, store: memoryStateStore(), instanceId, clusterName: "c", facts: { hostname: "h", resources: { cpu: 2048, memory: 4096 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } }, relistIntervalMs: 20, statsIntervalMs, resyncIntervalMs: 0 });
  await agent.start();
  return { rt, stats, agent };
}

const parsed = (raw: string) => decodeMessage(statsMessageSchema, raw);

describe("container stats sampler", () => {
  test("each running container's cpu units and memory bytes reach the stats message, keyed by task and container", async () => {
    const { stats, agent: a } = await startAgent(50);
    a.engine.applyDesired(desired([{ taskId: "t1", containers: ["web", "sidecar"] }, { taskId: "t2", containers: ["web"] }]));
    await waitFor("both tasks RUNNING", () => a.engine.state.tasks.t1?.knownStatus === "RUNNING" && a.engine.state.tasks.t2?.knownStatus === "RUNNING");
    // A sample taken while t1's second container was still starting lists only its first: wait for
    // one taken with every container of both tasks running.
    const m = await waitFor("a sample of both tasks", () => stats.map(parsed).find((s): s is StatsMessage => !!s && Object.keys(s.tasks.t1 ?? {}).length === 2 && !!s.tasks.t2));
    expect(Object.keys(m.tasks.t1!).sort()).toEqual(["sidecar", "web"]);
    expect(m.tasks.t1!.web).toEqual([512, 50_000_000]);
    expect(m.tasks.t1!.sidecar).toEqual([64, 8_000_000]);
    expect(m.tasks.t2!.web).toEqual([512, 50_000_000]);
    expect(m.at).toBeGreaterThan(0);
  });

  test("a stopped task leaves the next message (sent once, empty), then nothing more is sent; sampling writes no task state", async () => {
    const { stats, agent: a } = await startAgent(3600_000);
    a.engine.applyDesired(desired([{ taskId: "t1", containers: ["web"] }]));
    await waitFor("RUNNING", () => a.engine.state.tasks.t1?.knownStatus === "RUNNING");
    await waitFor("settled", () => a.engine.state.tasks.t1?.containers.every((c) => c.runtimeId));
    const writes = a.engine.stateWrites;
    const before = JSON.stringify(a.engine.state);
    await a.stats.sampleAndSend();
    expect(JSON.stringify(a.engine.state)).toBe(before);
    expect(a.engine.stateWrites).toBe(writes);
    expect(parsed(stats.at(-1)!)?.tasks.t1?.web).toEqual([512, 50_000_000]);

    a.engine.applyDesired(desired([{ taskId: "t1", containers: ["web"], desiredStatus: "STOPPED" }], 2));
    await waitFor("STOPPED", () => a.engine.state.tasks.t1?.knownStatus === "STOPPED");
    await a.stats.sampleAndSend();
    expect(parsed(stats.at(-1)!)?.tasks).toEqual({});
    const sent = stats.length;
    await a.stats.sampleAndSend();
    expect(stats.length).toBe(sent);
  });

  test("interval 0 (--stats-interval 0) turns sampling off; the default is 30 s", async () => {
    const off = await startAgent(0);
    expect(off.agent.stats.active).toBe(false);
    await off.agent.stop();
    const on = await startAgent(DEFAULT_STATS_INTERVAL_MS);
    expect(on.agent.stats.active).toBe(true);
    expect(DEFAULT_STATS_INTERVAL_MS).toBe(30_000);
  });
});

describe("usage from Docker's stats body", () => {
  const body = (o: Record<string, unknown>) => ({ read: "2026-01-01T00:00:01Z", preread: "2026-01-01T00:00:00Z", ...o });
  test("cpu from the container's and the host's cpu time deltas (× online cpus), memory less inactive page cache (cgroup v2)", () => {
    const u = containerUsage(
      body({
        cpu_stats: { cpu_usage: { total_usage: 3_000_000_000 }, system_cpu_usage: 104_000_000_000, online_cpus: 4 },
        precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 100_000_000_000 },
        memory_stats: { usage: 10_000_000, stats: { inactive_file: 2_000_000 } },
      }),
    );
    // 1 s of cpu in 4 s of host cpu time on 4 cpus: one cpu busy.
    expect(u).toEqual({ cpuUnits: 1024, memoryBytes: 8_000_000 });
  });

  test("cgroup v1's total_inactive_file; the wall clock between preread and read when the host's cpu time is missing", () => {
    const u = containerUsage(
      body({ cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 } }, precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 } }, memory_stats: { usage: 5_000, stats: { total_inactive_file: 1_000 } } }),
    );
    expect(u).toEqual({ cpuUnits: 512, memoryBytes: 4_000 });
  });

  test("no earlier sample (Docker's zero preread): cpu unknown; no memory reading (not running): no usage", () => {
    expect(containerUsage({ read: "2026-01-01T00:00:01Z", preread: "0001-01-01T00:00:00Z", cpu_stats: { cpu_usage: { total_usage: 5 } }, precpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: { usage: 7 } })).toEqual({ cpuUnits: null, memoryBytes: 7 });
    expect(containerUsage(body({ cpu_stats: {}, precpu_stats: {}, memory_stats: {} }))).toBeNull();
  });
});

describe("stats message size", () => {
  test("5 tasks of one container each: under 0.2 kbit/s of uplink at a 30 s interval, MQTT and TCP/IP headers included", () => {
    const taskId = (i: number) => `${i}`.padStart(32, "a");
    // Large readings (4 digits of cpu and a decimal, 10 digits of bytes): the longest common case.
    const message: StatsMessage = { at: 1_780_000_000_000, tasks: Object.fromEntries([0, 1, 2, 3, 4].map((i) => [taskId(i), { app: [1023.5, 1_234_567_890] }])) };
    const payload = Buffer.byteLength(JSON.stringify(message));
    const onWire = mqttPublishBytes(topics.stats(instanceId), payload, 0) + TCP_IP_HEADER_BYTES;
    // {"at":…,"tasks":{ + 5 × "<32 hex>":{"app":[1023.5,1234567890]} + }}
    expect(payload).toBe(`{"at":1780000000000,"tasks":{}}`.length + 5 * `"${taskId(0)}":{"app":[1023.5,1234567890]}`.length + 4);
    expect(payload).toBeLessThan(350);
    expect(kbitPerSecond(onWire, 30_000)).toBeLessThan(0.2);
  });
});
