import { describe, expect, test } from "bun:test";
import { ImageCleaner } from "../../../agent/engine/image-cleanup.ts";
import { PAUSE_IMAGE_LABEL } from "../../../agent/runtime/pause-image/pause-image.ts";
import type { ContainerRuntime } from "../../../agent/runtime/types.ts";
import { emptyState, type AgentState, type AgentTask } from "../../../agent/store/state-file.ts";

/** An engine's images (ref → id) and the image ids its containers use. */
function fakeRuntime(images: Record<string, string>, used: string[], labels: Record<string, Record<string, string>> = {}) {
  const removed: string[] = [];
  const runtime = {
    imagesInUse: async () => new Set(used),
    imageId: async (ref: string) => images[ref] ?? null,
    imageLabels: async (ref: string) => (ref in images ? (labels[ref] ?? {}) : null),
    removeImage: async (ref: string) => {
      removed.push(ref);
      delete images[ref];
    },
  } as unknown as ContainerRuntime;
  return { runtime, removed };
}

function task(image: string, knownStatus: AgentTask["knownStatus"], container: { runtimeId?: string; removed?: boolean } = {}): AgentTask {
  return {
    taskId: `t-${image}`,
    taskArn: "arn",
    family: "f",
    revision: 1,
    taskDefinitionArn: "arn",
    definition: {},
    desiredStatus: knownStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    knownStatus,
    containers: [{ name: "app", image, essential: true, knownStatus: knownStatus === "STOPPED" ? "STOPPED" : "RUNNING", ...container }],
  };
}

function cleaner(state: AgentState, runtime: ContainerRuntime, now: number, perCycle = 5) {
  let saves = 0;
  const forget = (images: string[]) => {
    for (const i of images) delete state.pulledImages![i];
    saves++;
  };
  const c = new ImageCleaner({ runtime, state: () => state, forget, intervalMs: 1000, minimumAgeMs: 60_000, imagesPerCycle: perCycle, now: () => now });
  return { c, saves: () => saves };
}

describe("ImageCleaner", () => {
  test("removes only old, unused, unreferenced images the agent pulled, oldest first, a few per cycle", async () => {
    const { runtime, removed } = fakeRuntime(
      { old1: "sha:1", old2: "sha:2", young: "sha:3", busy: "sha:4", held: "sha:5", stoppedHeld: "sha:6", notMine: "sha:7" },
      ["sha:4"],
    );
    const state = emptyState();
    state.pulledImages = { old2: 2_000, old1: 1_000, young: 95_000, busy: 1_000, held: 1_000, stoppedHeld: 1_000, gone: 1_000 };
    state.tasks = {
      a: task("held", "RUNNING"),
      b: task("stoppedHeld", "STOPPED", { runtimeId: "c1" }),
      c: task("old1", "STOPPED", { runtimeId: "c2", removed: true }),
    };
    const { c, saves } = cleaner(state, runtime, 100_000, 1);
    await c.cycle();
    expect(removed).toEqual(["old1"]);
    await c.cycle();
    expect(removed).toEqual(["old1", "old2"]);
    // "gone" was removed by hand: forgotten; the rest are kept and still recorded.
    expect(Object.keys(state.pulledImages).sort()).toEqual(["busy", "held", "stoppedHeld", "young"]);
    expect(saves()).toBe(2);
  });

  test("a removal the engine refuses keeps the record", async () => {
    const { runtime } = fakeRuntime({ x: "sha:x" }, []);
    (runtime as { removeImage: unknown }).removeImage = async () => {
      throw new Error("conflict: image is being used");
    };
    const state = emptyState();
    state.pulledImages = { x: 0 };
    await cleaner(state, runtime, 100_000).c.cycle();
    expect(state.pulledImages).toEqual({ x: 0 });
  });

  test("never removes the built-in pause image, even one recorded as pulled (a task named it)", async () => {
    const { runtime, removed } = fakeRuntime({ "flotilla/pause:0.1.0-amd64": "sha:p", old: "sha:o" }, [], {
      "flotilla/pause:0.1.0-amd64": { [PAUSE_IMAGE_LABEL]: "digest" },
    });
    const state = emptyState();
    state.pulledImages = { "flotilla/pause:0.1.0-amd64": 0, old: 1 };
    await cleaner(state, runtime, 100_000).c.cycle();
    expect(removed).toEqual(["old"]);
    expect(state.pulledImages).toEqual({});
  });
});
