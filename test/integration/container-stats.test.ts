import { describe, expect, test } from "bun:test";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Container stats from the real Docker engine: a real agent process sampling every second
 * (--stats-interval 1) reads a busy container's use with one `stream=false` stats call, and
 * the control shows it in GET task and GET service.
 */
let tc: TestControl;
const CLUSTER = "container-stats";
const IMAGE = "flotilla/busybox:test";

singleAgentCluster(CLUSTER, { agentArgs: ["--stats-interval", "1"], ready: (c) => ({ tc } = c) });

describe("container stats from Docker", () => {
  test("a container burning cpu shows cpu and memory use in GET task, and its service's in GET service", async () => {
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "burner",
      containerDefinitions: [{ name: "burn", image: IMAGE, cpu: 256, memory: 32, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"] }],
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect((await tc.api("POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: "burner", taskDefinition: "burner", desiredCount: 1 })).status).toBe(201);
    const taskId = await waitFor("the service's task", async () => ((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[])[0]?.taskId as string | undefined);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);

    const task = await waitFor(
      "a sample with cpu in use",
      async () => {
        const t = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
        return t.stats?.cpuUtilized > 0 ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(task.stats.memoryUtilized).toBeGreaterThan(0);
    expect(task.containers[0].stats.cpuUtilized).toBeGreaterThan(0);
    expect(task.containers[0].stats.memoryUtilized).toBeGreaterThan(0);
    // A shell loop keeps about one CPU busy (1024 units); never more than the host has.
    expect(task.stats.cpuUtilized).toBeLessThanOrEqual(1024 * navigator.hardwareConcurrency);
    expect(Date.parse(task.stats.sampledAt)).toBeGreaterThan(Date.parse(task.startedAt) - 5_000);

    const service = (await tc.api("GET", `/v1/clusters/${CLUSTER}/services/burner`)).body.service;
    expect(service.stats).toMatchObject({ tasksSampled: 1 });
    expect(service.stats.cpuUtilized).toBeGreaterThan(0);
    expect((await tc.api("PATCH", `/v1/clusters/${CLUSTER}/services/burner`, { desiredCount: 0 })).status).toBe(200);
    await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
  }, 90_000);
});
