import { describe, expect, test } from "bun:test";
import { buildContainerSpec, type TaskIdentity } from "../../../agent/engine/container-spec.ts";
import { holderExitReason, namespaceOwnerName, namespaceOwnerSpec, needsNamespaceHolder, TASK_NETWORK } from "../../../agent/engine/task-network.ts";
import { createBody } from "../../../agent/runtime/docker-create.ts";
import { parseTaskDefinition, type TaskDefinitionSpec } from "../../../shared/task-definition/index.ts";

/** pidMode/ipcMode "task" in every network mode: who joins what, and what the holder is. */
const T: TaskIdentity = { taskId: "0123456789abcdef0123", clusterName: "c", instanceId: "i-1", family: "app", revision: 3 };
const HOLDER = `container:${namespaceOwnerName(T.taskId)}`;
const PAUSE = { image: "flotilla/pause:test", entryPoint: ["/pause"] };

function parsed(body: unknown): TaskDefinitionSpec {
  const r = parseTaskDefinition(body);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const task = (extra: Record<string, unknown>, linuxParameters?: Record<string, unknown>) =>
  parsed({ family: "app", containerDefinitions: [{ name: "a", image: "nginx", memory: 64, linuxParameters }, { name: "b", image: "nginx", memory: 64 }], ...extra });

describe("task namespaces", () => {
  for (const networkMode of ["bridge", "host", "none"]) {
    test(`${networkMode}: containers join the holder's PID and IPC namespaces and keep their own network mode`, () => {
      const td = task({ networkMode, pidMode: "task", ipcMode: "task" });
      expect(needsNamespaceHolder(td)).toBe(true);
      for (const c of td.containerDefinitions) {
        expect(buildContainerSpec(T, td, c)).toMatchObject({ networkMode, pidMode: HOLDER, ipcMode: HOLDER });
      }
      const holder = namespaceOwnerSpec(T, td, { image: "pause", entryPoint: ["/pause"] }, "/flotilla/t");
      expect(holder).toMatchObject({ networkMode: "none", portBindings: [], ipcMode: "shareable", cgroupParent: "/flotilla/t", image: "pause" });
      expect(holder.networkName).toBeUndefined();
      expect(createBody(holder).HostConfig).toMatchObject({ NetworkMode: "none", IpcMode: "shareable", CgroupParent: "/flotilla/t" });
    });
  }

  test("awsvpc: the same holder keeps the network too", () => {
    const td = task({ networkMode: "awsvpc", ipcMode: "task" });
    expect(buildContainerSpec(T, td, td.containerDefinitions[0]!)).toMatchObject({ networkMode: HOLDER, ipcMode: HOLDER, pidMode: undefined });
    expect(namespaceOwnerSpec(T, td, PAUSE)).toMatchObject({ networkMode: "bridge", networkName: TASK_NETWORK, ipcMode: "shareable" });
    expect(holderExitReason(td)).toBe("Task network namespace holder exited (networkMode awsvpc)");
  });

  test("only pidMode task: the holder's IPC namespace stays private", () => {
    const td = task({ pidMode: "task" });
    expect(namespaceOwnerSpec(T, td, PAUSE).ipcMode).toBeUndefined();
    expect(buildContainerSpec(T, td, td.containerDefinitions[0]!)).toMatchObject({ pidMode: HOLDER, ipcMode: undefined });
    expect(holderExitReason(td)).toBe('Task namespace holder exited (pidMode "task")');
    expect(holderExitReason(task({ pidMode: "task", ipcMode: "task" }))).toBe('Task namespace holder exited (pidMode "task", ipcMode "task")');
  });

  test("with ipcMode task the holder's /dev/shm is the largest sharedMemorySize asked for", () => {
    expect(namespaceOwnerSpec(T, task({ ipcMode: "task" }, { sharedMemorySize: 128 }), PAUSE).shmSizeMiB).toBe(128);
    expect(namespaceOwnerSpec(T, task({ ipcMode: "task" }), PAUSE).shmSizeMiB).toBeUndefined();
    expect(namespaceOwnerSpec(T, task({ pidMode: "task" }, { sharedMemorySize: 128 }), PAUSE).shmSizeMiB).toBeUndefined();
  });

  test("host and none are Docker's own; no holder without task namespaces or awsvpc", () => {
    const td = task({ pidMode: "host", ipcMode: "none" });
    expect(buildContainerSpec(T, td, td.containerDefinitions[0]!)).toMatchObject({ pidMode: "host", ipcMode: "none" });
    expect(needsNamespaceHolder(td)).toBe(false);
    expect(needsNamespaceHolder(task({}))).toBe(false);
  });
});
