import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Task-level cpu and memory enforced as a per-task cgroup (/flotilla/<taskId>, like ECS's
 * /ecs/<taskId>), with a real control service, a real agent process and the real Docker engine
 * (cgroup v1, cgroupfs driver). The cgroup files are read from the host, the placement from
 * `docker inspect` and from inside the containers.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "limits";
const IMAGE = "flotilla/busybox:test";
const CG = "/sys/fs/cgroup";
const MiB = 1024 * 1024;

const sh = (script: string) => ["sh", "-c", `trap "exit 0" TERM; ${script}`];
const forever = "while :; do sleep 1 & wait $!; done";
/** Holds `bytes` of anonymous memory in `sort` (one line of zeros) until the container stops. */
const hold = (bytes: number) => `head -c ${bytes} /dev/zero | sort | sleep 3600 & `;

beforeAll(async () => {
  tc = await startTestControl();
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER, ["--task-cleanup-wait", "1"]));
});

const taskIds: string[] = [];

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  // A failed test leaves its task un-cleaned: do not leave its (now empty) cgroup behind either.
  for (const id of taskIds) for (const h of taskCgroupDirs(id)) rmdirSync(`${CG}/${h}/flotilla/${id}`);
  await tc?.stop();
});

async function run(definition: Record<string, unknown>): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", definition);
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: definition.family });
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  taskIds.push(res.body.tasks[0].taskId);
  return res.body.tasks[0].taskId;
}

const getTask = async (taskId: string) => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
const container = (task: any, name: string) => task.containers.find((c: any) => c.name === name);
const inspect = (id: string, format: string) => docker("inspect", "--format", format, id);
const cgroupFile = (subsystem: string, taskId: string, file: string) => readFileSync(`${CG}/${subsystem}/flotilla/${taskId}/${file}`, "utf8").trim();
/** Every hierarchy in which the task's cgroup directory exists. */
const taskCgroupDirs = (taskId: string) => readdirSync(CG).filter((h) => existsSync(`${CG}/${h}/flotilla/${taskId}`));

async function stopTask(taskId: string) {
  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
  return waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
}

describe("task-level cpu and memory", () => {
  test("become a task cgroup that every container of the task is created under, removed at cleanup", async () => {
    const taskId = await run({
      family: "sized",
      cpu: "512",
      memory: "96",
      containerDefinitions: [
        // No memory of its own: only the task's limit bounds it.
        { name: "free", image: IMAGE, command: sh(forever) },
        { name: "capped", image: IMAGE, memory: 32, cpu: 128, command: sh(forever) },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const parent = `/flotilla/${taskId}`;

    // The limits, as the kernel holds them: shares, a quota of half a CPU per 100 ms, 96 MiB.
    expect(cgroupFile("memory", taskId, "memory.limit_in_bytes")).toBe(String(96 * MiB));
    expect(cgroupFile("cpu", taskId, "cpu.shares")).toBe("512");
    expect(cgroupFile("cpu", taskId, "cpu.cfs_period_us")).toBe("100000");
    expect(cgroupFile("cpu", taskId, "cpu.cfs_quota_us")).toBe("50000");

    for (const name of ["free", "capped"]) {
      const id = container(task, name).runtimeId;
      expect(await inspect(id, "{{.HostConfig.CgroupParent}}")).toBe(parent);
      // Inside the container: its own cgroup is below the task's (cgroup v1, host cgroup namespace).
      const own = await docker("exec", id, "cat", "/proc/self/cgroup");
      expect(own).toMatch(new RegExp(`:memory:${parent}/${id}$`, "m"));
      expect(own).toMatch(new RegExp(`:cpu:${parent}/${id}$`, "m"));
    }
    expect(await inspect(container(task, "free").runtimeId, "{{.HostConfig.Memory}}")).toBe("0");
    expect(await inspect(container(task, "capped").runtimeId, "{{.HostConfig.Memory}}")).toBe(String(32 * MiB));
    // The container's own limit is still there, nested in the task's.
    const cappedId = container(task, "capped").runtimeId;
    expect(cgroupFile("memory", taskId, `${cappedId}/memory.limit_in_bytes`)).toBe(String(32 * MiB));

    await stopTask(taskId);
    // Cleanup (1 s here) removes the containers, then the task cgroup from every hierarchy.
    await waitFor("the task cgroup to be removed", async () => (taskCgroupDirs(taskId).length === 0 ? true : undefined), { timeoutMs: 20_000 });
    expect(existsSync(`${CG}/memory/flotilla/${taskId}`)).toBe(false);
  }, 60_000);

  test("the task cpu quota throttles a busy container", async () => {
    const taskId = await run({
      family: "busy",
      cpu: 128,
      memory: 32,
      containerDefinitions: [{ name: "spin", image: IMAGE, command: sh("while :; do :; done & wait") }],
    });
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    expect(cgroupFile("cpu", taskId, "cpu.cfs_quota_us")).toBe("12500");
    // An eighth of a CPU: the busy loop is throttled in most 100 ms periods.
    const stat = await waitFor("the task cgroup to be throttled", async () => {
      const s = Object.fromEntries(cgroupFile("cpu", taskId, "cpu.stat").split("\n").map((l) => l.split(" ") as [string, string]));
      return Number(s.nr_throttled) >= 5 ? s : undefined;
    });
    expect(Number(stat.nr_throttled)).toBeGreaterThanOrEqual(5);
    expect(Number(stat.nr_periods)).toBeGreaterThanOrEqual(Number(stat.nr_throttled));
    await stopTask(taskId);
  }, 60_000);

  test("task memory bounds the containers together: going over it OOM-kills, reported as ECS does", async () => {
    // Each container alone fits in 100 MiB; together they do not.
    const taskId = await run({
      family: "oom",
      memory: 100,
      volumes: [{ name: "shared" }],
      containerDefinitions: [
        {
          name: "holder",
          image: IMAGE,
          mountPoints: [{ sourceVolume: "shared", containerPath: "/shared" }],
          // Holds 45 MB, then says so (its own cgroup shows its usage).
          command: sh(
            `${hold(45_000_000)} while [ $(cat /sys/fs/cgroup/memory/memory.usage_in_bytes) -lt 44000000 ]; do sleep 0.1; done; touch /shared/held; wait`,
          ),
        },
        {
          name: "grabber",
          image: IMAGE,
          essential: false,
          mountPoints: [{ sourceVolume: "shared", containerPath: "/shared" }],
          // 70 MB more once the holder has its 45: the task goes over 100 MiB.
          command: sh("until [ -f /shared/held ]; do sleep 0.1; done; head -c 70000000 /dev/zero | sort > /dev/null"),
        },
      ],
    });
    const grabber = await waitFor("the grabber to be killed", async () => {
      const c = container(await getTask(taskId), "grabber");
      return c?.lastStatus === "STOPPED" ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(grabber).toMatchObject({ exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" });
    expect(await inspect(grabber.runtimeId, "{{.State.OOMKilled}}")).toBe("true");
    // The kernel counted the task's limit being hit; the holder (essential) runs on.
    expect(Number(cgroupFile("memory", taskId, "memory.failcnt"))).toBeGreaterThan(0);
    const task = await getTask(taskId);
    expect(task.lastStatus).toBe("RUNNING");
    expect(container(task, "holder").lastStatus).toBe("RUNNING");
    const stopped = await stopTask(taskId);
    // Stopped by the agent (SIGTERM, exit 0): not reported as an OOM kill.
    expect(container(stopped, "holder").exitCode).toBe(0);
    expect(container(stopped, "holder").reason).toBeUndefined();
  }, 60_000);

  test("an essential container over the task memory stops the task with exit code 137", async () => {
    const taskId = await run({
      family: "oom-essential",
      memory: 48,
      containerDefinitions: [{ name: "hog", image: IMAGE, command: ["sh", "-c", "head -c 100000000 /dev/zero | sort > /dev/null"] }],
    });
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
    expect(stopped).toMatchObject({ stoppedReason: "Essential container in task exited", stopCode: "EssentialContainerExited" });
    expect(container(stopped, "hog")).toMatchObject({ exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" });
  }, 60_000);

  test("after kill -9 and a restart, the agent creates the rest of a task's containers in the same cgroup", async () => {
    const taskId = await run({
      family: "adopted",
      cpu: 256,
      memory: 64,
      containerDefinitions: [
        { name: "init", image: IMAGE, essential: false, command: sh("until [ -f /tmp/go ]; do sleep 0.1; done") },
        { name: "app", image: IMAGE, command: sh(forever), dependsOn: [{ containerName: "init", condition: "COMPLETE" }] },
      ],
    });
    const init = await waitFor("init to run", async () => {
      const c = container(await getTask(taskId), "init");
      return c?.lastStatus === "RUNNING" ? c : undefined;
    });
    await agent.kill9();
    await docker("exec", init.runtimeId, "touch", "/tmp/go");
    agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: agent.dataDir, args: ["--image-pull-behavior", "prefer-cached", "--pause-image", IMAGE, "--task-cleanup-wait", "1"] });

    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);
    const app = container(task, "app");
    expect(await inspect(app.runtimeId, "{{.HostConfig.CgroupParent}}")).toBe(`/flotilla/${taskId}`);
    expect(cgroupFile("memory", taskId, "memory.limit_in_bytes")).toBe(String(64 * MiB));
    expect(existsSync(`${CG}/memory/flotilla/${taskId}/${app.runtimeId}`)).toBe(true);

    await stopTask(taskId);
    await waitFor("the task cgroup to be removed", async () => (taskCgroupDirs(taskId).length === 0 ? true : undefined), { timeoutMs: 20_000 });
  }, 60_000);
});
