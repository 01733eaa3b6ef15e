import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The real TaskEngine on the in-memory runtime with a settable clock: restart policy timing, stop
 * order and dependency failures, without waiting for real minutes.
 */
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const instanceId = "i-features";
let clock = 1_000_000;
let engine: TaskEngine | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

function start(rt: HollowRuntime) {
  engine = new TaskEngine({ runtime: rt, store: memoryStateStore(), instanceId, clusterName: "c", relistIntervalMs: 20, now: () => clock });
  engine.start();
  return engine;
}

function desired(definition: object, generation = 1, desiredStatus: "RUNNING" | "STOPPED" = "RUNNING"): DesiredState {
  return {
    instanceId,
    clusterName: "c",
    generation,
    tasks: [{ taskId: "t1", taskArn: "arn:t1", family: "f", revision: 1, taskDefinitionArn: "arn:f:1", desiredStatus, definition }],
  };
}

const containerId = async (rt: HollowRuntime, name: string) => (await rt.list({ [LABELS.containerName]: name }))[0]!.id;

describe("restart policy in the engine", () => {
  test("restarts in place once the attempt period has passed since the start, then since the last restart", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(
      desired({
        family: "f",
        containerDefinitions: [{ name: "main", image: "nginx", memory: 32, restartPolicy: { enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60 } }],
      }),
    );
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const id = await containerId(rt, "main");

    clock += 61_000;
    rt.exit(id, 1);
    await waitFor("first restart", () => e.state.tasks.t1!.containers[0]!.restartCount === 1);
    expect((await rt.inspect(id))!.state).toBe("running");

    clock += 61_000;
    rt.exit(id, 1);
    await waitFor("second restart", () => e.state.tasks.t1!.containers[0]!.restartCount === 2);
    expect(e.state.tasks.t1!.knownStatus).toBe("RUNNING");
    expect(e.reportedTasks()[0]!.containers[0]).toMatchObject({ restartCount: 2, status: "RUNNING", runtimeId: id });

    // Too soon after the last restart: ECS gives up and the essential rule applies.
    clock += 10_000;
    rt.exit(id, 1);
    await waitFor("STOPPED", () => e.state.tasks.t1!.knownStatus === "STOPPED");
    expect(e.state.tasks.t1).toMatchObject({ stopCode: "EssentialContainerExited" });
    expect(e.state.tasks.t1!.containers[0]).toMatchObject({ exitCode: 1, restartCount: 2 });
  });

  test("an ignored exit code is not restarted", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(
      desired({
        family: "f",
        containerDefinitions: [
          { name: "main", image: "nginx", memory: 32 },
          { name: "job", image: "nginx", memory: 32, essential: false, restartPolicy: { enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60 } },
        ],
      }),
    );
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    clock += 120_000;
    rt.exit(await containerId(rt, "job"), 0);
    await waitFor("job STOPPED", () => e.state.tasks.t1!.containers[1]!.knownStatus === "STOPPED");
    expect(e.state.tasks.t1!.containers[1]).toMatchObject({ exitCode: 0 });
    expect(e.state.tasks.t1!.containers[1]!.restartCount).toBeUndefined();
    expect(e.state.tasks.t1!.knownStatus).toBe("RUNNING");
  });
});

describe("dependsOn in the engine", () => {
  test("COMPLETE accepts a failed exit; START only needs the container running", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(
      desired({
        family: "f",
        containerDefinitions: [
          { name: "app", image: "nginx", memory: 32, dependsOn: [{ containerName: "prep", condition: "COMPLETE" }, { containerName: "side", condition: "START" }] },
          { name: "prep", image: "nginx", memory: 32, essential: false },
          { name: "side", image: "nginx", memory: 32, essential: false },
        ],
      }),
    );
    await waitFor("prep started", async () => (await rt.list({ [LABELS.containerName]: "prep" }))[0]?.state === "running");
    expect(await rt.list({ [LABELS.containerName]: "app" })).toEqual([]);
    rt.exit(await containerId(rt, "prep"), 7);
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    expect(e.state.tasks.t1!.containers.find((c) => c.name === "prep")).toMatchObject({ knownStatus: "STOPPED", exitCode: 7 });
  });

  test("a StopTask during a dependency wait stops the task without starting the dependent", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    const def = {
      family: "f",
      containerDefinitions: [
        { name: "app", image: "nginx", memory: 32, dependsOn: [{ containerName: "prep", condition: "SUCCESS" }] },
        { name: "prep", image: "nginx", memory: 32, essential: false },
      ],
    };
    e.applyDesired(desired(def));
    await waitFor("prep started", async () => (await rt.list({ [LABELS.containerName]: "prep" }))[0]?.state === "running");
    e.applyDesired(desired(def, 2, "STOPPED"));
    await waitFor("STOPPED", () => e.state.tasks.t1?.knownStatus === "STOPPED");
    expect(await rt.list({ [LABELS.containerName]: "app" })).toEqual([]);
  });
});
