import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { TaskEngine } from "../../agent/engine/task-engine.ts";
import { DockerRuntime } from "../../agent/runtime/docker.ts";
import { memoryStateStore } from "../../agent/store/state-file.ts";
import { LABELS } from "../../shared/labels.ts";
import type { DesiredState, DesiredTask } from "../../shared/messages.ts";
import { CallChecker, guardWrites } from "../agent/engine/one-writer-guards.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * One writer per task against the real Docker engine: a stop arriving while the tasks start, real
 * Docker events (containers killed behind the agent's back) and relists, all at once. Every write to
 * a task comes from its runner and no two Docker calls for one task overlap or repeat.
 */
const instanceId = `i-one-writer-${randomBytes(4).toString("hex")}`;
let engine: TaskEngine | undefined;

afterAll(async () => {
  await engine?.stop();
  await removeInstanceContainers(instanceId);
});

const sleeper = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];
const definition = {
  family: "one-writer",
  containerDefinitions: [
    { name: "main", image: "flotilla/busybox:test", memory: 16, stopTimeout: 2, command: sleeper },
    { name: "side", image: "flotilla/busybox:test", memory: 16, stopTimeout: 2, essential: false, command: sleeper },
  ],
};
const task = (taskId: string, desiredStatus: "RUNNING" | "STOPPED"): DesiredTask => ({
  taskId,
  taskArn: `arn:${taskId}`,
  family: "one-writer",
  revision: 1,
  taskDefinitionArn: "arn:one-writer:1",
  desiredStatus,
  definition,
});
const desired = (generation: number, tasks: DesiredTask[]): DesiredState => ({ instanceId, clusterName: "c", generation, tasks });

describe("one writer per task, real Docker", () => {
  test("a stop, Docker events and relists while three tasks start", async () => {
    const checked = new CallChecker(new DockerRuntime({}));
    const writes: string[] = [];
    engine = new TaskEngine({
      runtime: checked,
      store: memoryStateStore(),
      instanceId,
      clusterName: "c",
      imagePullBehavior: "prefer-cached",
      relistIntervalMs: 50,
      cleanupWaitMs: 0,
      watchTask: (t) => guardWrites(t, writes),
    });
    engine.start();
    const ids = ["w1", "w2", "w3"].map((s) => `${s}-${instanceId}`);
    engine.applyDesired(desired(1, ids.map((id) => task(id, "RUNNING"))));

    // Docker events: each task's side container is killed as soon as it runs.
    const killer = (async () => {
      const killed = new Set<string>();
      await waitFor("every side container killed", async () => {
        const out = await docker("ps", "-q", "--filter", `label=${LABELS.instanceId}=${instanceId}`, "--filter", `label=${LABELS.containerName}=side`);
        for (const id of out.split("\n").filter(Boolean)) {
          if (killed.has(id)) continue;
          killed.add(id);
          await docker("kill", id).catch(() => undefined);
        }
        return killed.size >= ids.length - 1; // the first task may be stopped before its side runs
      }, { timeoutMs: 60_000, intervalMs: 50 });
    })();
    const relists = (async () => {
      for (let i = 0; i < 40; i++) {
        void engine!.relist();
        await Bun.sleep(25);
      }
    })();
    // The stop arrives for one task while it may still be starting; the others once all is done.
    await Bun.sleep(300);
    engine.applyDesired(desired(2, [task(ids[0]!, "STOPPED"), ...ids.slice(1).map((id) => task(id, "RUNNING"))]));
    await Promise.all([killer, relists]);
    engine.applyDesired(desired(3, ids.map((id) => task(id, "STOPPED"))));
    await waitFor("every task STOPPED", () => ids.every((id) => engine!.state.tasks[id]?.knownStatus === "STOPPED"), { timeoutMs: 60_000 });
    engine.applyDesired(desired(4, []));
    await waitFor("every task forgotten", () => Object.keys(engine!.state.tasks).length === 0, { timeoutMs: 60_000 });
    expect(await docker("ps", "-aq", "--filter", `label=${LABELS.instanceId}=${instanceId}`)).toBe("");

    expect(writes).toEqual([]);
    expect(checked.violations).toEqual([]);
  }, 240_000);
});
