import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * restartPolicy, applied by the agent itself: an exited container is started again in place (same
 * container), also while the control service and its broker are down, unless it ran for less than
 * restartAttemptPeriod (ECS's rule; the shortest period ECS allows is 60 s, so one test waits that long).
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "restarts";
const IMAGE = "flotilla/busybox:test";
const dir = mkdtempSync(join(tmpdir(), "flotilla-control-restarts-"));

singleAgentCluster(CLUSTER, { control: { dir }, ready: (c) => ({ tc, agent, instanceId } = c) });

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(definition: Record<string, unknown>): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", definition);
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: definition.family });
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.tasks[0].taskId;
}

describe("restartPolicy", () => {
  test("a container that ran less than restartAttemptPeriod is not restarted: the task stops as usual", async () => {
    const taskId = await run({
      family: "early-exit",
      containerDefinitions: [
        {
          name: "main",
          image: IMAGE,
          memory: 32,
          command: ["sh", "-c", "sleep 0.5; exit 4"],
          restartPolicy: { enabled: true, restartAttemptPeriod: 60 },
        },
      ],
    });
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped).toMatchObject({ stopCode: "EssentialContainerExited" });
    expect(stopped.containers[0]).toMatchObject({ exitCode: 4, lastStatus: "STOPPED" });
    expect(stopped.containers[0].restartCount).toBeUndefined();
  });

  test("an exiting container is restarted in place while the control service is down; restartCount reported after", async () => {
    const taskId = await run({
      family: "restarts",
      containerDefinitions: [
        {
          name: "main",
          image: IMAGE,
          memory: 32,
          // Runs a little over the 60 s period, then fails.
          command: ["sh", "-c", 'trap "exit 0" TERM; sleep 61 & wait $!; exit 5'],
          restartPolicy: { enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60 },
        },
      ],
    });
    const running = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const id: string = running.containers[0].runtimeId;
    const firstStart = await docker("inspect", "--format", "{{.State.StartedAt}}", id);

    // Take the control service and its broker away; the restart is the agent's own business.
    const { httpUrl, mqttUrl } = tc.control;
    await tc.stop();
    const restartedAt = await waitFor(
      "the agent to restart the same container",
      async () => {
        const [started, running] = (await docker("inspect", "--format", "{{.State.StartedAt}} {{.State.Running}}", id)).split(" ");
        return started !== firstStart && running === "true" ? started : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(Date.parse(restartedAt!) - Date.parse(firstStart)).toBeGreaterThanOrEqual(60_000);

    tc = await startTestControl({ dir, httpPort: Number(new URL(httpUrl).port), brokerPort: Number(new URL(mqttUrl).port) });
    const reported = await waitFor(
      "restartCount 1 reported after reconnecting",
      async () => {
        const t = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
        return t?.containers[0].restartCount === 1 ? t : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(reported.lastStatus).toBe("RUNNING");
    expect(reported.containers[0]).toMatchObject({ runtimeId: id, lastStatus: "RUNNING" });
    expect(reported.containers[0].exitCode).toBeUndefined();
    expect(await docker("ps", "-aq", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`)).toBe(id);
  }, 150_000);
});
