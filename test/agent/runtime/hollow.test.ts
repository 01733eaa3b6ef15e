import { describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { RuntimeError, type ContainerSpec } from "../../../agent/runtime/types.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/wait.ts";

const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };

function spec(name: string, labels: Record<string, string> = { owner: "a" }, extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return { name, image: "nginx", labels, networkMode: "bridge", portBindings: [], stopTimeoutSeconds: 30, ...extra };
}

describe("HollowRuntime", () => {
  test("create, start, list by labels, inspect, stop with exit code 0, remove", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const a = await rt.create(spec("a", { owner: "a", extra: "1" }));
    const b = await rt.create(spec("b", { owner: "b" }));
    expect((await rt.inspect(a))?.state).toBe("created");
    await rt.start(a);
    const seen = await rt.inspect(a);
    expect(seen?.state).toBe("running");
    expect(seen?.startedAt).toBeGreaterThan(0);
    expect((await rt.list({ owner: "a" })).map((c) => c.name)).toEqual(["a"]);
    expect((await rt.list({})).length).toBe(2);
    await rt.stop(a, 5);
    const stopped = await rt.inspect(a);
    expect(stopped?.state).toBe("exited");
    expect(stopped?.exitCode).toBe(0);
    await rt.remove(a);
    await rt.remove(b);
    expect(await rt.inspect(a)).toBeNull();
    expect(await rt.list({})).toEqual([]);
  });

  test("a container that outlives its stop timeout is killed with 137", async () => {
    const rt = new HollowRuntime({ timings: { ...fast, stopLatencyMs: 5_000 }, cachedImages: ["nginx"] });
    const id = await rt.create(spec("slow"));
    await rt.start(id);
    await rt.stop(id, 0);
    expect((await rt.inspect(id))?.exitCode).toBe(137);
  });

  test("exit() makes a running container exit on its own and hints watchers", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const id = await rt.create(spec("x", { owner: "w" }));
    await rt.start(id);
    let hints = 0;
    const unwatch = rt.watch({ owner: "w" }, () => hints++);
    let otherHints = 0;
    rt.watch({ owner: "someone-else" }, () => otherHints++);
    rt.exit(id, 3);
    await waitFor("a hint", () => hints > 0);
    expect(otherHints).toBe(0);
    const c = await rt.inspect(id);
    expect(c?.state).toBe("exited");
    expect(c?.exitCode).toBe(3);
    expect(c?.finishedAt).toBeGreaterThan(0);
    unwatch();
  });

  test("names are unique and images must be present to create", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    await rt.create(spec("dup"));
    await expect(rt.create(spec("dup"))).rejects.toBeInstanceOf(RuntimeError);
    await expect(rt.create(spec("other", {}, { image: "missing" }))).rejects.toThrow(/No such image/);
  });

  test("pull behaviours: default pulls and falls back to cache, prefer-cached skips, unpullable fails", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["cached"], unpullableImages: ["cached", "nope"] });
    await rt.ensureImage("cached", "prefer-cached");
    expect(rt.calls.pull).toBe(0);
    await rt.ensureImage("cached", "default"); // the pull fails, the cached image is used
    expect(rt.calls.pull).toBe(1);
    await expect(rt.ensureImage("cached", "always")).rejects.toThrow(/CannotPull|does not exist/);
    const err = await rt.ensureImage("nope", "default").catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).kind).toBe("CannotPullContainerError");
    await rt.ensureImage("fresh", "default");
    await rt.create(spec("f", {}, { image: "fresh" }));
  });

  test("dynamic host ports are resolved at start", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const id = await rt.create(spec("p", {}, { portBindings: [{ containerPort: 80, hostPort: 0, protocol: "tcp" }] }));
    await rt.start(id);
    const ports = (await rt.inspect(id))?.ports ?? [];
    expect(ports).toHaveLength(1);
    expect(ports[0]!.hostPort).toBeGreaterThan(0);
  });

  test("start latency is honoured", async () => {
    const rt = new HollowRuntime({ timings: { ...fast, startLatencyMs: 50 }, cachedImages: ["nginx"] });
    const id = await rt.create(spec("t"));
    const t0 = performance.now();
    await rt.start(id);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });
});

describe("the real TaskEngine on a HollowRuntime", () => {
  const instanceId = "i-hollow";
  function desired(generation: number, desiredStatus: "RUNNING" | "STOPPED"): DesiredState {
    return {
      instanceId,
      clusterName: "default",
      generation,
      tasks: [
        {
          taskId: "t1",
          taskArn: "arn:aws:ecs:local:000000000000:task/default/t1",
          family: "webserver",
          revision: 1,
          taskDefinitionArn: "arn:aws:ecs:local:000000000000:task-definition/webserver:1",
          desiredStatus,
          definition: WEBSERVER,
        },
      ],
    };
  }

  test("runs a task to RUNNING, stops it when the essential container exits, and stops on request", async () => {
    const rt = new HollowRuntime({ timings: fast });
    const engine = new TaskEngine({ runtime: rt, store: memoryStateStore(), instanceId, clusterName: "default", relistIntervalMs: 50 });
    engine.start();
    try {
      engine.applyDesired(desired(1, "RUNNING"));
      await waitFor("task RUNNING", () => engine.state.tasks.t1?.knownStatus === "RUNNING");
      // WEBSERVER is awsvpc: besides "web", the task has a hidden holder of its network namespace.
      const [c] = await rt.list({ [LABELS.instanceId]: instanceId, [LABELS.containerName]: "web" });
      expect(c?.state).toBe("running");
      expect(c?.labels[LABELS.taskId]).toBe("t1");
      // "default" pulls the task's image; the holder's is the built-in pause image, loaded, never pulled.
      expect(rt.calls).toMatchObject({ pull: 1, load: 1 });

      // The essential container crashes: the engine notices and stops the task with its exit code.
      rt.exit(c!.id, 2);
      await waitFor("task STOPPED", () => engine.state.tasks.t1?.knownStatus === "STOPPED");
      const t = engine.state.tasks.t1!;
      expect(t.stopCode).toBe("EssentialContainerExited");
      expect(t.containers[0]!.exitCode).toBe(2);
    } finally {
      await engine.stop();
    }
  });

  test("a desired STOPPED task is stopped through the runtime with exit code 0", async () => {
    const rt = new HollowRuntime({ timings: fast });
    const engine = new TaskEngine({ runtime: rt, store: memoryStateStore(), instanceId, clusterName: "default", relistIntervalMs: 50 });
    engine.start();
    try {
      engine.applyDesired(desired(1, "RUNNING"));
      await waitFor("task RUNNING", () => engine.state.tasks.t1?.knownStatus === "RUNNING");
      engine.applyDesired(desired(2, "STOPPED"));
      await waitFor("task STOPPED", () => engine.state.tasks.t1?.knownStatus === "STOPPED");
      expect(engine.state.tasks.t1!.containers[0]!.exitCode).toBe(0);
      expect(rt.running()).toEqual([]);
    } finally {
      await engine.stop();
    }
  });
});
