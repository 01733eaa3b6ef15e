import { describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import type { ContainerRuntime, ContainerSpec, PullSummary } from "../../../agent/runtime/types.ts";
import { LABELS } from "../../../shared/labels.ts";
import { emptyState, type AgentState, type StateStore } from "../../../agent/store/state-file.ts";
import { StateSaver } from "../../../agent/store/state-saver.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/** A store that keeps every saved state (as JSON, as the file would have it). */
function recordingStore(): StateStore & { saved: AgentState[] } {
  const saved: AgentState[] = [];
  return { saved, load: () => emptyState(), save: (s) => void saved.push(JSON.parse(JSON.stringify(s))) };
}

const instanceId = "i-saver";
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };

function desired(n: number): DesiredState {
  return {
    instanceId,
    clusterName: "c",
    generation: 1,
    tasks: Array.from({ length: n }, (_, i) => ({
      taskId: `t${i}`,
      taskArn: `arn:t${i}`,
      family: "f",
      revision: 1,
      taskDefinitionArn: "arn:f:1",
      desiredStatus: "RUNNING" as const,
      definition: { family: "f", containerDefinitions: [{ name: "a", image: "nginx", memory: 8 }] },
    })),
  };
}

describe("coalesced state saves", () => {
  test("a burst of changes is one write, made after the burst", async () => {
    const store = recordingStore();
    let n = 0;
    const saver = new StateSaver({ store, snapshot: () => ({ ...emptyState(), generation: n }), delayMs: 5 });
    for (n = 1; n <= 100; n++) saver.markDirty();
    await waitFor("the write", () => store.saved.length > 0, { intervalMs: 5 });
    await Bun.sleep(20);
    expect(store.saved.map((s) => s.generation)).toEqual([101]);
  });

  test("a desired set of 40 new tasks reaches the file in one write with all of them", async () => {
    const store = recordingStore();
    const engine = new TaskEngine({ runtime: new HollowRuntime({ timings: fast, cachedImages: ["nginx"] }), store, instanceId, clusterName: "c" });
    try {
      engine.applyDesired(desired(40));
      await waitFor("the first write", () => store.saved.length > 0, { intervalMs: 2 });
      expect(Object.keys(store.saved[0]!.tasks)).toHaveLength(40);
      expect(store.saved[0]!.generation).toBe(1);
    } finally {
      await engine.stop();
    }
  });

  test("pull progress is reported but never saved", async () => {
    const store = recordingStore();
    const hollow = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    // A pull that reports progress 50 times before it ends.
    let releasePull!: () => void;
    const pulling = new Promise<void>((r) => (releasePull = r));
    const runtime: ContainerRuntime = Object.assign(Object.create(hollow), {
      ensureImage: async (image: string, _b: unknown, onProgress?: (s: PullSummary) => void) => {
        for (let i = 1; i <= 50; i++) onProgress?.({ layers: 2, layersDone: i === 50 ? 2 : 1, bytesDone: i * 1024 * 1024, bytesTotal: 50 * 1024 * 1024 });
        await pulling;
        return true;
      },
    });
    let changes = 0;
    const engine = new TaskEngine({ runtime, store, instanceId, clusterName: "c", onChange: () => changes++ });
    engine.start();
    try {
      engine.applyDesired(desired(1));
      await waitFor("progress in the report", () => engine.reportedTasks()[0]?.events?.some((e) => e.message.startsWith("a: Pulling nginx: ")));
      const writesDuringPull = engine.stateWrites;
      expect(changes).toBeGreaterThanOrEqual(50);
      expect(writesDuringPull).toBeLessThanOrEqual(2);
      releasePull();
      await waitFor("RUNNING", () => engine.state.tasks.t0?.knownStatus === "RUNNING");
      await waitFor("saved RUNNING", () => store.saved.at(-1)?.tasks.t0?.knownStatus === "RUNNING");
      // Reported events still carry the progress; the saved ones never did.
      expect(engine.reportedTasks()[0]!.events!.some((e) => e.message.startsWith("a: Pulling nginx: "))).toBe(true);
      for (const s of store.saved) expect(JSON.stringify(s)).not.toContain("Pulling");
      expect(store.saved.at(-1)!.pulledImages).toHaveProperty("nginx");
    } finally {
      await engine.stop();
    }
  });

  test("a new task is in the state file before its first container is created", async () => {
    const store = recordingStore();
    const hollow = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const unsaved: string[] = [];
    const runtime: ContainerRuntime = Object.assign(Object.create(hollow), {
      create: (spec: ContainerSpec) => {
        const taskId = spec.labels[LABELS.taskId]!;
        if (!store.saved.at(-1)?.tasks[taskId]) unsaved.push(taskId);
        return hollow.create(spec);
      },
    });
    const engine = new TaskEngine({ runtime, store, instanceId, clusterName: "c", saveDelayMs: 50 });
    engine.start();
    try {
      engine.applyDesired(desired(10));
      await waitFor("RUNNING", () => Object.values(engine.state.tasks).filter((t) => t.knownStatus === "RUNNING").length === 10);
      expect(unsaved).toEqual([]);
    } finally {
      await engine.stop();
    }
  });
});
