import { describe, expect, test } from "bun:test";
import { checkGpus } from "../../../control/placement/checkers/gpus.ts";
import { ClusterIndex } from "../../../control/placement/cluster-index.ts";
import { placeTasks } from "../../../control/placement/engine.ts";
import { reportedReason } from "../../../control/placement/failures.ts";
import { seededRng } from "../../../control/placement/seeded-rng.ts";
import { taskReservation, parseTaskDefinition } from "../../../shared/task-definition/index.ts";
import { instance, prepared, request } from "./fixtures.ts";

const gpuTask = (gpus: number) => ({ cpu: 0, memory: 16, tcpPorts: [], udpPorts: [], gpus });

describe("GPU checker", () => {
  test("a task needing N GPUs fits only where N registered GPUs are not held", () => {
    const host = instance("a", { gpus: ["g0", "g1", "g2"], usedGpus: ["g1"] });
    expect(checkGpus(host, prepared({ reservation: gpuTask(2) }))).toBeNull();
    expect(checkGpus(host, prepared({ reservation: gpuTask(3) }))).toBe("RESOURCE:GPU");
    expect(checkGpus(instance("b"), prepared({ reservation: gpuTask(1) }))).toBe("RESOURCE:GPU");
    // A task without GPUs never looks at them.
    expect(checkGpus(instance("b"), prepared())).toBeNull();
  });

  test("RESOURCE:GPU is reported from the resource stage: over a refusal by an earlier stage, as CPU would be", () => {
    expect(reportedReason(new Map([["AGENT", 5], ["RESOURCE:GPU", 1]]))).toBe("RESOURCE:GPU");
    expect(reportedReason(new Map([["RESOURCE:MEMORY", 1], ["RESOURCE:GPU", 2]]))).toBe("RESOURCE:GPU");
  });

  test("the task's GPU count is the sum of its containers' GPU resourceRequirements", () => {
    const r = parseTaskDefinition({
      family: "t",
      containerDefinitions: [
        { name: "a", image: "x", memory: 8, resourceRequirements: [{ type: "GPU", value: "2" }] },
        { name: "b", image: "x", memory: 8, resourceRequirements: [{ type: "GPU", value: "1" }] },
        { name: "c", image: "x", memory: 8 },
      ],
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(taskReservation(r.value).gpus).toBe(3);
    const none = parseTaskDefinition({ family: "t", containerDefinitions: [{ name: "a", image: "x", memory: 8 }] });
    if (!none.ok) throw new Error("bad");
    expect(taskReservation(none.value)).not.toHaveProperty("gpus");
  });
});

describe("GPU placement", () => {
  test("each placed task names its own free GPUs in the agent's order; tasks of one request never share one", () => {
    const index = ClusterIndex.from([instance("a", { gpus: ["g0", "g1", "g2", "g3"], usedGpus: ["g0"] })]);
    const r = placeTasks(index, request({ count: 2, reservation: gpuTask(1) }), { rng: seededRng(1) });
    expect(r.placements).toEqual([
      { instanceId: "a", gpuIds: ["g1"] },
      { instanceId: "a", gpuIds: ["g2"] },
    ]);
    // The engine is pure: the index is unchanged until the caller books the tasks.
    expect([...index.get("a")!.gpus.used]).toEqual(["g0"]);
  });

  test("a request for more GPUs than remain places what fits and fails the rest with RESOURCE:GPU", () => {
    const index = ClusterIndex.from([instance("a", { gpus: ["g0", "g1", "g2"] }), instance("b")]);
    const r = placeTasks(index, request({ count: 2, reservation: gpuTask(2) }), { rng: seededRng(2) });
    expect(r.placements).toEqual([{ instanceId: "a", gpuIds: ["g0", "g1"] }]);
    expect(r.failures.map((f) => f.reason)).toEqual(["RESOURCE:GPU"]);
    expect(r.failures[0]!.rejected).toEqual({ "RESOURCE:GPU": 2 });
  });

  test("booking and releasing a task's GPU ids in the index", () => {
    const index = ClusterIndex.from([instance("a", { gpus: ["g0", "g1"] })]);
    index.reserve("a", { ...gpuTask(1), gpuIds: ["g1"] }, "family:web");
    expect(placeTasks(index, request({ reservation: gpuTask(1) })).placements).toEqual([{ instanceId: "a", gpuIds: ["g0"] }]);
    index.release("a", { ...gpuTask(1), gpuIds: ["g1"] }, "family:web");
    expect(placeTasks(index, request({ reservation: gpuTask(2) })).placements).toEqual([{ instanceId: "a", gpuIds: ["g0", "g1"] }]);
  });
});
