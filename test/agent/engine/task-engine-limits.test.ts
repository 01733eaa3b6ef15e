import { afterEach, describe, expect, test } from "bun:test";
import { OOM_REASON, TaskEngine } from "../../../agent/engine/task-engine.ts";
import { namespaceOwnerName, NAMESPACE_OWNER_LABEL } from "../../../agent/engine/task-network.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { captureLogs, type CapturedLogs } from "../../helpers/log-capture.ts";

/**
 * The real TaskEngine on the in-memory runtime: task cgroups (task-level cpu/memory), OOM exits and
 * the task's shared PID/IPC namespaces, without Docker.
 */
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const instanceId = "i-limits";
let engine: TaskEngine | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

function start(rt: HollowRuntime, log: CapturedLogs = captureLogs(), cleanupWaitMs = 3600_000) {
  engine = new TaskEngine({ runtime: rt, store: memoryStateStore(), instanceId, clusterName: "c", relistIntervalMs: 20, cleanupWaitMs, log: log.log });
  engine.start();
  return engine;
}

type Task = { taskId: string; definition: object; desiredStatus?: "RUNNING" | "STOPPED" };
function desired(tasks: Task[], generation = 1): DesiredState {
  return {
    instanceId,
    clusterName: "c",
    generation,
    tasks: tasks.map((t) => ({ taskId: t.taskId, taskArn: `arn:${t.taskId}`, family: "f", revision: 1, taskDefinitionArn: "arn:f:1", desiredStatus: t.desiredStatus ?? "RUNNING", definition: t.definition })),
  };
}

const SIZED = { family: "f", cpu: "512", memory: "128", containerDefinitions: [{ name: "a", image: "nginx" }, { name: "b", image: "nginx", memory: 32 }] };
const byName = async (rt: HollowRuntime, taskId: string, name: string) => (await rt.list({ [LABELS.taskId]: taskId, [LABELS.containerName]: name }))[0]!.id;

describe("task cgroups in the engine", () => {
  test("task cpu/memory make a cgroup before the containers, which are all created under it; cleanup removes it", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt, undefined, 50);
    e.applyDesired(desired([{ taskId: "t1", definition: SIZED }]));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    expect(rt.taskCgroups.get("t1")).toEqual({ cpuUnits: 512, memoryMiB: 128 });
    for (const name of ["a", "b"]) expect(rt.specOf(await byName(rt, "t1", name))?.cgroupParent).toBe("/flotilla/t1");

    e.applyDesired(desired([{ taskId: "t1", definition: SIZED, desiredStatus: "STOPPED" }], 2));
    await waitFor("cleaned up", () => e.state.tasks.t1?.containers.every((c) => c.removed));
    await waitFor("cgroup removed", () => !rt.taskCgroups.has("t1"));
  });

  test("a task without task-level cpu or memory gets no cgroup", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(desired([{ taskId: "t1", definition: { family: "f", containerDefinitions: [{ name: "a", image: "nginx", memory: 32 }] } }]));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    expect(rt.taskCgroups.size).toBe(0);
    expect(rt.specOf(await byName(rt, "t1", "a"))?.cgroupParent).toBeUndefined();
  });

  test("a host without task cgroups runs the tasks anyway and says so once", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"], taskCgroupsUnavailable: "the host uses cgroup v2 (unified); task cgroups need cgroup v1" });
    const log = captureLogs();
    const e = start(rt, log);
    e.applyDesired(desired([{ taskId: "t1", definition: SIZED }, { taskId: "t2", definition: SIZED }]));
    await waitFor("both RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING" && e.state.tasks.t2?.knownStatus === "RUNNING");
    const lines = log.messages().filter((l) => l.includes("not enforced"));
    expect(lines).toEqual(["task-level cpu and memory are not enforced on this host (no task cgroups): the host uses cgroup v2 (unified); task cgroups need cgroup v1"]);
    expect(rt.specOf(await byName(rt, "t2", "a"))?.cgroupParent).toBeUndefined();
  });

  test("an OOM-killed container (137) gets ECS's OutOfMemoryError reason; a stopped one that merely saw an OOM event does not", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(
      desired([{ taskId: "t1", definition: { ...SIZED, containerDefinitions: [{ name: "a", image: "nginx" }, { name: "b", image: "nginx", essential: false }] } }]),
    );
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    rt.exit(await byName(rt, "t1", "b"), 137, { oomKilled: true });
    await waitFor("b stopped", () => e.state.tasks.t1!.containers[1]!.knownStatus === "STOPPED");
    expect(e.state.tasks.t1!.containers[1]).toMatchObject({ exitCode: 137, reason: OOM_REASON });
    rt.exit(await byName(rt, "t1", "a"), 0, { oomKilled: true });
    await waitFor("task stopped", () => e.state.tasks.t1!.knownStatus === "STOPPED");
    expect(e.state.tasks.t1!.containers[0]!.reason).toBeUndefined();
  });
});

describe("pidMode and ipcMode task outside awsvpc", () => {
  test("a holder without a network of its own carries the shared namespaces, in the task cgroup", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx", "flotilla/busybox:test"] });
    const e = start(rt, undefined, 50);
    const def = { ...SIZED, pidMode: "task", ipcMode: "task" };
    e.applyDesired(desired([{ taskId: "t1", definition: def }]));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const holder = rt.specOf(await byName(rt, "t1", NAMESPACE_OWNER_LABEL))!;
    expect(holder).toMatchObject({ networkMode: "none", ipcMode: "shareable", cgroupParent: "/flotilla/t1", portBindings: [] });
    const a = rt.specOf(await byName(rt, "t1", "a"))!;
    expect(a).toMatchObject({ networkMode: "bridge", pidMode: `container:${namespaceOwnerName("t1")}`, ipcMode: `container:${namespaceOwnerName("t1")}` });

    // The holder goes with the task, and its loss stops the task (its processes lose their PID 1).
    e.applyDesired(desired([{ taskId: "t1", definition: def, desiredStatus: "STOPPED" }], 2));
    await waitFor("holder removed", async () => (await rt.list({ [LABELS.containerName]: NAMESPACE_OWNER_LABEL })).length === 0);
  });

  test("the holder dying stops the task with a reason naming the shared namespaces", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx", "flotilla/busybox:test"] });
    const e = start(rt);
    e.applyDesired(desired([{ taskId: "t1", definition: { family: "f", pidMode: "task", containerDefinitions: [{ name: "a", image: "nginx", memory: 32 }] } }]));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    rt.exit(await byName(rt, "t1", NAMESPACE_OWNER_LABEL), 137);
    await waitFor("STOPPED", () => e.state.tasks.t1?.knownStatus === "STOPPED");
    expect(e.state.tasks.t1).toMatchObject({ stoppedReason: 'Task namespace holder exited (pidMode "task")', stopCode: "EssentialContainerExited" });
  });
});
