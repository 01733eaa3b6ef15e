import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Task volumes with a real agent and Docker: host bind mounts (read-write and read-only), Docker
 * volumes scoped to the task (made with it, removed at its cleanup) or shared (kept; made only with
 * autoprovision), volumesFrom. The agent runs with a 1 s cleanup wait so removal is observable.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "volumes";
const IMAGE = "flotilla/busybox:test";
const hostDir = mkdtempSync(join(tmpdir(), "flotilla-bind-"));
const SHARED = `flotilla-test-shared-${process.pid}`;
const sh = (script: string) => ["sh", "-c", `trap "exit 0" TERM; ${script}`];
const forever = "while :; do sleep 1 & wait $!; done";

singleAgentCluster(CLUSTER, { agentArgs: ["--task-cleanup-wait", "1"], ready: (c) => ({ tc, agent, instanceId } = c) });

beforeAll(async () => {
  const policy = await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, { allowedHostPaths: [hostDir] });
  expect(policy.status).toBe(200);
});

afterAll(async () => {
  await docker("volume", "rm", "-f", SHARED).catch(() => undefined);
  rmSync(hostDir, { recursive: true, force: true });
});

async function run(definition: Record<string, unknown>): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", definition);
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: definition.family });
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.tasks[0].taskId;
}

async function stopTask(taskId: string) {
  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
  return waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
}

const volumeExists = (name: string) => docker("volume", "inspect", name).then(() => true, () => false);

describe("volumes", () => {
  test("bind mounts, a task volume shared by two containers, volumesFrom read-only; task volume removed at cleanup", async () => {
    writeFileSync(join(hostDir, "in.txt"), "from the host\n");
    const taskId = await run({
      family: "vols",
      volumes: [
        { name: "hostdir", host: { sourcePath: hostDir } },
        { name: "scratch", dockerVolumeConfiguration: { scope: "task", labels: { purpose: "test" } } },
        { name: "kept", dockerVolumeConfiguration: { scope: "shared", autoprovision: true } },
      ],
      containerDefinitions: [
        {
          name: "writer",
          image: IMAGE,
          memory: 32,
          mountPoints: [
            { sourceVolume: "hostdir", containerPath: "/host" },
            { sourceVolume: "scratch", containerPath: "/scratch" },
          ],
          command: sh(`cat /host/in.txt > /host/out.txt; echo shared > /scratch/s.txt; ${forever}`),
        },
        {
          name: "reader",
          image: IMAGE,
          memory: 32,
          mountPoints: [{ sourceVolume: "hostdir", containerPath: "/ro", readOnly: true }],
          volumesFrom: [{ sourceContainer: "writer", readOnly: true }],
          command: sh(forever),
        },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const reader = task.containers.find((c: any) => c.name === "reader").runtimeId;
    await waitFor("the writer to copy the host file", () => {
      try {
        return readFileSync(join(hostDir, "out.txt"), "utf8") === "from the host\n";
      } catch {
        return false;
      }
    });
    // volumesFrom gives the reader the writer's /host and /scratch, read-only.
    expect(await waitFor("the shared task volume", () => docker("exec", reader, "cat", "/scratch/s.txt").catch(() => undefined))).toBe("shared");
    expect(await docker("exec", reader, "cat", "/host/in.txt")).toBe("from the host");
    await expect(docker("exec", reader, "touch", "/ro/x")).rejects.toThrow(/Read-only/);
    await expect(docker("exec", reader, "touch", "/scratch/x")).rejects.toThrow(/Read-only/);
    const taskVolume = `flotilla-${taskId}-scratch`;
    expect(await docker("volume", "inspect", "--format", "{{.Labels.purpose}} {{index .Labels \"flotilla.task-id\"}}", taskVolume)).toBe(`test ${taskId}`);
    expect(await volumeExists("kept")).toBe(true);

    await stopTask(taskId);
    // Cleanup (1 s here) removes the containers and the task's volume; the shared one stays.
    await waitFor("the task volume to be removed", async () => !(await volumeExists(taskVolume)), { timeoutMs: 15_000 });
    expect(await volumeExists("kept")).toBe(true);
    await docker("volume", "rm", "kept");
  });

  test("a shared volume without autoprovision must exist: missing, the task stops with a clear reason", async () => {
    const taskId = await run({
      family: "needs-shared",
      volumes: [{ name: SHARED, dockerVolumeConfiguration: { scope: "shared", autoprovision: false } }],
      containerDefinitions: [{ name: "a", image: IMAGE, memory: 32, mountPoints: [{ sourceVolume: SHARED, containerPath: "/data" }], command: sh(forever) }],
    });
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toBe(`CannotCreateVolumeError: volume ${SHARED} does not exist and autoprovision is off`);

    await docker("volume", "create", SHARED);
    await docker("run", "--rm", "-v", `${SHARED}:/d`, IMAGE, "sh", "-c", "echo existing > /d/f");
    const second = await run({
      family: "needs-shared",
      volumes: [{ name: SHARED, dockerVolumeConfiguration: { scope: "shared", autoprovision: false } }],
      containerDefinitions: [{ name: "a", image: IMAGE, memory: 32, mountPoints: [{ sourceVolume: SHARED, containerPath: "/data" }], command: sh(forever) }],
    });
    const running = await waitTaskStatus(tc, CLUSTER, second, "RUNNING");
    expect(await docker("exec", running.containers[0].runtimeId, "cat", "/data/f")).toBe("existing");
    await stopTask(second);
  });
});
