import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState, DesiredTask } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { CallChecker, guardWrites } from "./one-writer-guards.ts";

/**
 * One writer per task: desired sets, Docker events and relists arrive at the same time for the same
 * tasks, and still every write to a task's state comes from that task's runner and its runtime calls
 * never overlap or repeat. A second writer (the intake or the observer changing a task itself, a
 * stop issued from outside the runner) fails these.
 */
const instanceId = "i-one-writer";
const timings = { pullLatencyMs: 3, createLatencyMs: 6, startLatencyMs: 6, stopLatencyMs: 6, removeLatencyMs: 3 };
let engine: TaskEngine | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** A small deterministic PRNG, so a failing interleaving can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFINITION = {
  family: "f",
  cpu: "256",
  memory: "128",
  containerDefinitions: [
    { name: "web", image: "nginx", dependsOn: [{ containerName: "side", condition: "START" }] },
    { name: "side", image: "nginx", essential: false, restartPolicy: { enabled: true, restartAttemptPeriod: 60 } },
    { name: "extra", image: "nginx", essential: false },
  ],
};

function desiredTask(taskId: string, desiredStatus: "RUNNING" | "STOPPED"): DesiredTask {
  return { taskId, taskArn: `arn:${taskId}`, family: "f", revision: 1, taskDefinitionArn: "arn:f:1", desiredStatus, definition: DEFINITION };
}

function desired(generation: number, tasks: DesiredTask[]): DesiredState {
  return { instanceId, clusterName: "c", generation, tasks };
}

function setup() {
  const rt = new HollowRuntime({ timings, cachedImages: ["nginx"] });
  const checked = new CallChecker(rt);
  const writes: string[] = [];
  engine = new TaskEngine({
    runtime: checked,
    store: memoryStateStore(),
    instanceId,
    clusterName: "c",
    relistIntervalMs: 5,
    cleanupWaitMs: 0,
    watchTask: (t) => guardWrites(t, writes),
  });
  engine.start();
  return { rt, checked, writes, e: engine };
}

describe("one writer per task", () => {
  for (const seed of [1, 2, 3]) {
    test(`concurrent desired sets, Docker events and relists on the same tasks (seed ${seed})`, async () => {
      const { rt, checked, writes, e } = setup();
      const random = prng(seed);
      const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
      let generation = 1;
      e.applyDesired(desired(generation, ids.map((id) => desiredTask(id, "RUNNING"))));

      const stopped = new Set<string>();
      const desiredSets = (async () => {
        for (let round = 0; round < 6; round++) {
          await Bun.sleep(random() * 15);
          for (const id of ids) if (random() < 0.25) stopped.add(id);
          // The same set again (a retained message after a reconnect), then the next generation.
          e.applyDesired(desired(generation, ids.map((id) => desiredTask(id, stopped.has(id) ? "STOPPED" : "RUNNING"))));
          e.applyDesired(desired(++generation, ids.map((id) => desiredTask(id, stopped.has(id) ? "STOPPED" : "RUNNING"))));
        }
        e.applyDesired(desired(++generation, ids.map((id) => desiredTask(id, "STOPPED"))));
      })();
      const dockerEvents = (async () => {
        for (let i = 0; i < 40; i++) {
          await Bun.sleep(random() * 4);
          const running = rt.running().filter((c) => c.labels[LABELS.instanceId] === instanceId);
          const victim = running[Math.floor(random() * running.length)];
          if (victim) rt.exit(victim.id, random() < 0.5 ? 1 : 0);
        }
      })();
      const relists = (async () => {
        for (let i = 0; i < 60; i++) {
          await Bun.sleep(random() * 3);
          void e.relist();
        }
      })();
      await Promise.all([desiredSets, dockerEvents, relists]);

      await waitFor("every task STOPPED", () => ids.every((id) => e.state.tasks[id]?.knownStatus === "STOPPED"));
      // Dropped by the control: cleaned up (cleanupWaitMs 0) and forgotten.
      e.applyDesired(desired(++generation, []));
      await waitFor("every task forgotten", () => Object.keys(e.state.tasks).length === 0);
      await waitFor("no container left", async () => (await rt.list({ [LABELS.instanceId]: instanceId })).length === 0);

      expect(writes).toEqual([]);
      expect(checked.violations).toEqual([]);
      expect(rt.taskCgroups.size).toBe(0);
    });
  }

  test("a burst of 40 new tasks starts concurrently, not one by one", async () => {
    const { checked, e } = setup();
    const ids = Array.from({ length: 40 }, (_, i) => `b${i}`);
    e.applyDesired(desired(1, ids.map((id) => desiredTask(id, "RUNNING"))));
    await waitFor("all RUNNING", () => ids.every((id) => e.state.tasks[id]?.knownStatus === "RUNNING"));
    expect(checked.violations).toEqual([]);
    // Every runner creates and starts on its own: with nothing holding them back, all 40 overlap.
    expect(checked.maxConcurrentTasks).toBeGreaterThanOrEqual(20);
  });

  test("a task definition revision is parsed once for all its tasks", async () => {
    const { e } = setup();
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    e.applyDesired(desired(1, ids.map((id) => desiredTask(id, "RUNNING"))));
    await waitFor("all RUNNING", () => ids.every((id) => e.state.tasks[id]?.knownStatus === "RUNNING"));
    expect(e.definitionParses).toBe(1);
  });
});
