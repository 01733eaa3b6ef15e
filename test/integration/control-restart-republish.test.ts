import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * A control process that dies between committing a change and publishing the instance's desired
 * set leaves the change in the database only. The next control to start publishes every live
 * instance's set under a new generation: the agent already holds the old one and would ignore a
 * set republished under it, so the change (here a StopTask) would never reach the host.
 */
const C = "republish";
const dir = mkdtempSync(join(tmpdir(), "flotilla-republish-"));
let tc: TestControl;
let agent: { agent: AgentProcess; instanceId: string };

beforeAll(async () => {
  tc = await startTestControl({ dir });
  agent = await startRegisteredAgent(tc, C);
}, 60_000);

afterAll(async () => {
  await agent?.agent.stop();
  if (agent) await removeInstanceContainers(agent.instanceId);
  await tc?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("control restart after a lost desired-set publish", () => {
  test("a StopTask committed but never published reaches the agent once the control is back", async () => {
    await tc.api("POST", "/v1/task-definitions", {
      family: "republish",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", 'trap "exit 0" TERM; sleep 600 & wait'] }],
    });
    const run = await tc.api("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "republish" });
    expect(run.body.failures).toEqual([]);
    const taskId = run.body.tasks[0].taskId as string;
    await waitTaskStatus(tc, C, taskId, "RUNNING", 30_000);
    const label = `flotilla.task-id=${taskId}`;
    expect(await runningWithLabel(label)).toHaveLength(1);

    // The crash window: the stop is committed, its publish never happens.
    tc.control.link.desiredChanged = () => {};
    expect((await tc.api("POST", `/v1/clusters/${C}/tasks/${taskId}/stop`, { reason: "lost publish" })).status).toBe(200);
    const brokerPort = Number(new URL(tc.control.mqttUrl).port);
    await tc.stop();
    expect(await runningWithLabel(label)).toHaveLength(1); // nothing reached the host

    tc = await startTestControl({ dir, brokerPort });
    await waitTaskStatus(tc, C, taskId, "STOPPED", 60_000);
    await waitFor("the task's container to stop", async () => (await runningWithLabel(label)).length === 0, { timeoutMs: 30_000 });
    const task = (await tc.api("GET", `/v1/clusters/${C}/tasks/${taskId}`)).body.task;
    expect(task.stoppedReason).toBe("lost publish");
  }, 150_000);
});
