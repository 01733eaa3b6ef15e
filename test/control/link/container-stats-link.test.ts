import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import { MqttAgentLink } from "../../../agent/link/mqtt-link.ts";
import { registerInstance } from "../../../agent/link/register.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import type { HostFacts } from "../../../shared/messages.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { activation } from "../../helpers/fleet.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * Container stats over the real link: a real control service (embedded broker, libSQL file) and
 * a real agent in-process (createAgent, MqttAgentLink, registered through an activation) on the
 * in-memory runtime, whose containers use a known cpu and memory. The samples travel the agent's
 * stats topic through the broker's ACL to the control's link, and show in GET task and GET service.
 */
const CLUSTER = "stats";
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const MiB = 1024 * 1024;
let tc: TestControl;
let agent: Agent;
let instanceId: string;

beforeAll(async () => {
  tc = await startTestControl();
  const act = await activation(tc, CLUSTER);
  const facts: HostFacts = { hostname: "hollow-stats", resources: { cpu: 2048, memory: 4096 }, attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" }, versionInfo: { agentVersion: "t", dockerVersion: "t" } };
  const identity = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, facts);
  instanceId = identity.instanceId;
  let epoch = 0;
  const link = new MqttAgentLink({ url: tc.control.mqttUrl, identity, nextEpoch: () => (epoch = Math.max(Date.now(), epoch + 1)) });
  // Every container uses 128 CPU units (an eighth of a CPU) and 32 MiB.
  const runtime = new HollowRuntime({ timings: fast, cachedImages: ["nginx"], usage: () => ({ cpuUnits: 128, memoryBytes: 32 * MiB }) });
  agent = createAgent({ runtime, link, store: memoryStateStore(), instanceId, clusterName: CLUSTER, facts, imagePullBehavior: "prefer-cached", relistIntervalMs: 50, statsIntervalMs: 100, resyncIntervalMs: 0 });
  await agent.start();
  await waitFor("agent connected", async () => (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body?.containerInstance?.agentConnected);
  const td = await tc.api("POST", "/v1/task-definitions", { family: "app", cpu: "256", memory: "128", containerDefinitions: [{ name: "app", image: "nginx" }, { name: "log", image: "nginx", essential: false }] });
  expect(td.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await tc?.stop();
});

describe("container stats through the agent link", () => {
  test("a service's running tasks show their containers' sampled use in GET task and the service's in GET service", async () => {
    const created = await tc.api("POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: "web", taskDefinition: "app", desiredCount: 2 });
    expect(created.status).toBe(201);
    const service = await waitFor(
      "service stats over both tasks",
      async () => {
        const s = (await tc.api("GET", `/v1/clusters/${CLUSTER}/services/web`)).body.service;
        // A sample taken while a task's second container was still starting covers one container
        // of it: wait for one with every container (each is sampled at 128 units).
        return s.stats?.tasksSampled === 2 && s.stats.cpuUtilizedTotal === 512 ? s : undefined;
      },
      { timeoutMs: 15_000 },
    );
    // Two tasks × two containers × 128 units; per task 256 of the 256 reserved; 64 MiB of 128.
    expect(service.stats).toMatchObject({ tasksSampled: 2, cpuUtilizedTotal: 512, memoryUtilizedTotal: 128, cpuUtilized: 256, memoryUtilized: 64, cpuUtilization: 100, memoryUtilization: 50 });
    expect(Date.parse(service.stats.sampledAt)).toBeGreaterThan(0);

    const tasks = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[];
    const running = tasks.filter((t) => t.lastStatus === "RUNNING");
    expect(running.length).toBe(2);
    const task = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${running[0].taskId}`)).body.task;
    expect(task.stats).toMatchObject({ cpuUtilized: 256, memoryUtilized: 64, cpuUtilization: 100, memoryUtilization: 50 });
    expect(task.stats.samples).toBeGreaterThanOrEqual(1);
    for (const c of task.containers) expect(c.stats).toMatchObject({ cpuUtilized: 128, memoryUtilized: 32, cpuUtilizedAverage: 128, memoryUtilizedAverage: 32 });
    expect(tc.control.link.stats.statsSamples).toBeGreaterThan(0);
    expect(tc.control.link.stats.malformed).toBe(0);
  }, 30_000);

  test("a stopped task shows no stats; the agent going offline clears its instance's readings", async () => {
    const tasks = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[];
    const one = tasks.find((t) => t.lastStatus === "RUNNING");
    const stopped = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${one.taskId}/stop`, {});
    expect(stopped.status).toBe(200);
    await waitFor("STOPPED without stats", async () => {
      const t = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${one.taskId}`)).body.task;
      return t.lastStatus === "STOPPED" && t.stats === undefined;
    });
    expect(tc.control.ctx.containerStats!.snapshot().some((e) => e.instanceId === instanceId)).toBe(true);
    await agent.stop();
    await waitFor("readings forgotten once offline", () => !tc.control.ctx.containerStats!.snapshot().some((e) => e.instanceId === instanceId));
    const s = (await tc.api("GET", `/v1/clusters/${CLUSTER}/services/web`)).body.service;
    expect(s.stats).toBeUndefined();
  }, 30_000);
});
