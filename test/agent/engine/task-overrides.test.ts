import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import type { ContainerSpec } from "../../../agent/runtime/types.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * RunTask overrides in the agent: a task with overrides runs its own definition (command replaced,
 * environment merged, memory replaced), a task of the same revision without them runs the
 * revision's (the per-revision parse cache is not changed by an override), and the state file
 * keeps the overrides, so a restarted agent runs the task as it was asked to.
 */
class RecordingRuntime extends HollowRuntime {
  readonly created: ContainerSpec[] = [];
  override async create(spec: ContainerSpec): Promise<string> {
    this.created.push(spec);
    return super.create(spec);
  }
}

const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
let engine: TaskEngine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const definition = {
  family: "f",
  containerDefinitions: [{ name: "main", image: "nginx", memory: 64, command: ["serve"], environment: [{ name: "A", value: "1" }, { name: "B", value: "def" }] }],
};
const overrides = { containerOverrides: [{ name: "main", command: ["migrate", "--now"], environment: [{ name: "B", value: "ovr" }], memory: 128 }] };

function desired(): DesiredState {
  const base = { family: "f", revision: 1, taskDefinitionArn: "arn:f:1", desiredStatus: "RUNNING" as const, definition };
  return {
    instanceId: "i-ovr",
    clusterName: "c",
    generation: 1,
    tasks: [
      { ...base, taskId: "with", taskArn: "arn:with", overrides },
      { ...base, taskId: "without", taskArn: "arn:without" },
    ],
  };
}

describe("RunTask overrides in the agent", () => {
  test("the overridden task runs its own command, environment and memory; its sibling the revision's; the state keeps them", async () => {
    const rt = new RecordingRuntime({ timings: fast, cachedImages: ["nginx"] });
    const store = memoryStateStore();
    engine = new TaskEngine({ runtime: rt, store, instanceId: "i-ovr", clusterName: "c", relistIntervalMs: 20 });
    engine.start();
    engine.applyDesired(desired());
    await waitFor("both tasks RUNNING", () => engine!.state.tasks.with?.knownStatus === "RUNNING" && engine!.state.tasks.without?.knownStatus === "RUNNING");

    const spec = (taskId: string) => rt.created.find((s) => s.name.includes(`-${taskId}-`))!;
    expect(spec("with")).toMatchObject({ command: ["migrate", "--now"], env: { A: "1", B: "ovr" }, memoryMiB: 128 });
    expect(spec("without")).toMatchObject({ command: ["serve"], env: { A: "1", B: "def" }, memoryMiB: 64 });

    await engine.stop();
    engine = undefined;
    expect(store.load().tasks.with!.overrides).toEqual(overrides);
    expect(store.load().tasks.without!.overrides).toBeUndefined();
  });
});
