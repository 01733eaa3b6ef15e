import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The task's shared PID and IPC namespaces (pidMode/ipcMode "task") in every network mode, and the
 * container's tmpfs mounts, /dev/shm size and sysctls, with a real control service, a real agent
 * process and the real Docker engine: checked in `docker inspect` and from inside the containers.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "namespaces";
const IMAGE = "flotilla/busybox:test";

const sh = (script: string) => ["sh", "-c", `trap "exit 0" TERM; ${script}`];
const forever = "while :; do sleep 1 & wait $!; done";

beforeAll(async () => {
  tc = await startTestControl();
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER));
  const policy = await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, { allowHostNetwork: true });
  expect(policy.status).toBe(200);
});

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  await tc?.stop();
});

async function run(definition: Record<string, unknown>): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", definition);
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: definition.family });
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.tasks[0].taskId;
}

const getTask = async (taskId: string) => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
const container = (task: any, name: string) => task.containers.find((c: any) => c.name === name);
const inspect = (id: string, format: string) => docker("inspect", "--format", format, id);
const holderOf = (taskId: string) => docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=~netns");

async function stopTask(taskId: string) {
  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
  return waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
}

describe('pidMode and ipcMode "task"', () => {
  // ECS has these only with a pause container in awsvpc; here every network mode gets them.
  for (const networkMode of ["bridge", "host", "none", "awsvpc"] as const) {
    test(`${networkMode}: the task's containers see each other's processes and share /dev/shm`, async () => {
      const taskId = await run({
        family: `shared-ns-${networkMode}`,
        networkMode,
        pidMode: "task",
        ipcMode: "task",
        containerDefinitions: [
          // A process with a name to look for, and a file in the task's /dev/shm.
          {
            name: "worker",
            image: IMAGE,
            memory: 32,
            linuxParameters: { sharedMemorySize: 80 },
            command: sh(`echo from-worker > /dev/shm/marker; sleep 31337 & wait`),
          },
          {
            name: "observer",
            image: IMAGE,
            memory: 32,
            essential: false,
            // Exits 0 only once it has seen the worker's process and read its shared memory file.
            command: sh('until ps | grep -q "[s]leep 31337" && [ "$(cat /dev/shm/marker 2>/dev/null)" = from-worker ]; do sleep 0.2; done'),
          },
          { name: "idle", image: IMAGE, memory: 32, command: sh(forever) },
        ],
      });
      const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
      const observer = await waitFor("the observer to see the worker", async () => {
        const c = container(await getTask(taskId), "observer");
        return c?.lastStatus === "STOPPED" ? c : undefined;
      });
      expect(observer.exitCode).toBe(0);

      // Same PID and IPC namespace for the task's containers, held by the hidden holder.
      const holder = await holderOf(taskId);
      expect(holder).not.toBe("");
      const worker = container(task, "worker").runtimeId;
      const idle = container(task, "idle").runtimeId;
      // The holder has no network of its own, except in awsvpc where it holds the task's.
      expect(await inspect(holder, "{{.HostConfig.NetworkMode}} {{.HostConfig.IpcMode}}")).toBe(`${networkMode === "awsvpc" ? "flotilla" : "none"} shareable`);
      for (const id of [worker, idle]) {
        expect(await inspect(id, "{{.HostConfig.PidMode}}")).toMatch(/^container:/);
        expect(await inspect(id, "{{.HostConfig.IpcMode}}")).toMatch(/^container:/);
        expect(await inspect(id, "{{.HostConfig.NetworkMode}}")).toMatch(networkMode === "awsvpc" ? /^container:/ : new RegExp(`^${networkMode}$`));
      }
      const ns = async (id: string) => docker("exec", id, "sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc");
      expect(await ns(idle)).toBe(await ns(worker));
      expect(await ns(idle)).not.toBe((await Bun.$`readlink /proc/self/ns/pid /proc/self/ns/ipc`.text()).trim());
      // From the idle container: the worker's process, and the holder as PID 1.
      const ps = await docker("exec", idle, "ps", "-o", "pid,args");
      expect(ps).toContain("sleep 31337");
      expect(ps).toMatch(/^\s*1\s+\/pause$/m);
      // Orphans land on the holder (PID 1 of the task), which reaps them: no zombie stays.
      await docker("exec", idle, "sh", "-c", "sleep 0.2 & exit 0");
      await waitFor("the orphaned sleep to be reaped", async () => {
        const procs = await docker("exec", idle, "ps", "-o", "stat,args");
        return !/^\s*Z/m.test(procs) && !procs.includes("sleep 0.2") && procs;
      });
      expect(await docker("exec", idle, "cat", "/dev/shm/marker")).toBe("from-worker");
      // One /dev/shm for the task, the size the worker asked for.
      expect(await docker("exec", idle, "df", "-k", "/dev/shm")).toMatch(/\s81920\s/);

      await stopTask(taskId);
      expect(await inspect(holder, "{{.State.Running}}")).toBe("false");
    }, 60_000);
  }

  test("without them, each container has its own PID namespace", async () => {
    const taskId = await run({
      family: "own-ns",
      containerDefinitions: [
        { name: "a", image: IMAGE, memory: 32, command: sh(forever) },
        { name: "b", image: IMAGE, memory: 32, command: sh(forever) },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const pidNs = (id: string) => docker("exec", id, "readlink", "/proc/self/ns/pid");
    expect(await pidNs(container(task, "a").runtimeId)).not.toBe(await pidNs(container(task, "b").runtimeId));
    expect(await holderOf(taskId)).toBe("");
    await stopTask(taskId);
  }, 60_000);
});

describe("linuxParameters.tmpfs, sharedMemorySize and systemControls", () => {
  test("reach Docker and are in effect inside the container", async () => {
    const taskId = await run({
      family: "kernel-params",
      containerDefinitions: [
        {
          name: "c",
          image: IMAGE,
          memory: 64,
          command: sh(forever),
          linuxParameters: {
            tmpfs: [{ containerPath: "/scratch", size: 16, mountOptions: ["noexec", "mode=1770"] }],
            sharedMemorySize: 96,
          },
          systemControls: [
            { namespace: "net.core.somaxconn", value: "1234" },
            { namespace: "kernel.msgmax", value: "12345" },
          ],
        },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const id = container(task, "c").runtimeId;

    // What Docker was told.
    expect(JSON.parse(await inspect(id, "{{json .HostConfig.Tmpfs}}"))).toEqual({ "/scratch": "size=16m,noexec,mode=1770" });
    expect(await inspect(id, "{{.HostConfig.ShmSize}}")).toBe(String(96 * 1024 * 1024));
    expect(JSON.parse(await inspect(id, "{{json .HostConfig.Sysctls}}"))).toEqual({ "net.core.somaxconn": "1234", "kernel.msgmax": "12345" });

    // What the container sees.
    const mounts = await docker("exec", id, "cat", "/proc/mounts");
    const scratch = mounts.split("\n").find((l) => l.split(" ")[1] === "/scratch");
    expect(scratch).toMatch(/^tmpfs \/scratch tmpfs \S*noexec\S*size=16384k\S*mode=1770/);
    const shm = mounts.split("\n").find((l) => l.split(" ")[1] === "/dev/shm");
    expect(shm).toMatch(/size=98304k/);
    expect(await docker("exec", id, "df", "-k", "/dev/shm")).toMatch(/\s98304\s/);
    expect(await docker("exec", id, "cat", "/proc/sys/net/core/somaxconn")).toBe("1234");
    expect(await docker("exec", id, "cat", "/proc/sys/kernel/msgmax")).toBe("12345");
    // The tmpfs is noexec and limited to 16 MiB.
    expect(await docker("exec", id, "sh", "-c", "cp /bin/busybox /scratch/bb && /scratch/bb true; echo $?")).toBe("126");
    const [ddStatus, kib] = (await docker("exec", id, "sh", "-c", "rm -f /scratch/bb; dd if=/dev/zero of=/scratch/big bs=1M count=32 2>/dev/null; echo $?; du -k /scratch/big | cut -f1")).split("\n");
    expect(ddStatus).toBe("1"); // no space left on device
    expect(Number(kib)).toBeGreaterThan(16_000);
    expect(Number(kib)).toBeLessThanOrEqual(16_384);

    await stopTask(taskId);
  }, 60_000);
});
