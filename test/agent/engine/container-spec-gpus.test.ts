import { describe, expect, test } from "bun:test";
import { buildContainerSpec, NVIDIA_VISIBLE_DEVICES, type TaskIdentity } from "../../../agent/engine/container-spec.ts";
import { initialTask } from "../../../agent/engine/desired-intake.ts";
import { createBody } from "../../../agent/runtime/docker-create.ts";
import { desiredTaskSchema } from "../../../shared/messages.ts";
import { parseTaskDefinition, type TaskDefinitionSpec } from "../../../shared/task-definition/index.ts";

// The container that placement gave GPUs is created with exactly those: a Docker device request
// (driver nvidia, the ids, capability gpu) and NVIDIA_VISIBLE_DEVICES. No GPU on this machine, so
// the create body is checked, not run.
const T: TaskIdentity = { taskId: "0123456789abcdef0123", clusterName: "c", instanceId: "i-1", family: "trainer", revision: 1 };
const IDS = ["GPU-f3da2e71-6e43-729a-e3ae-f731ed96d50c", "GPU-15ea7bf9-1a0e-2d7f-9c62-c28e5ca1aaf1"];

function spec(): TaskDefinitionSpec {
  const r = parseTaskDefinition({
    family: "trainer",
    containerDefinitions: [
      {
        name: "learner",
        image: "busybox",
        memory: 64,
        environment: [{ name: NVIDIA_VISIBLE_DEVICES, value: "all" }, { name: "A", value: "1" }],
        resourceRequirements: [{ type: "GPU", value: "2" }],
      },
      { name: "sidecar", image: "busybox", memory: 32 },
    ],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe("GPU containers", () => {
  test("the create body requests exactly the container's GPUs from the nvidia driver and sets NVIDIA_VISIBLE_DEVICES", () => {
    const td = spec();
    const body = createBody(buildContainerSpec(T, td, td.containerDefinitions[0]!, {}, undefined, IDS));
    expect(body.HostConfig.DeviceRequests).toEqual([{ Driver: "nvidia", DeviceIDs: IDS, Capabilities: [["gpu"]] }]);
    // The reserved ids win over a definition's own value, as amazon-ecs-agent merges them.
    expect(body.Env).toContain(`${NVIDIA_VISIBLE_DEVICES}=${IDS.join(",")}`);
    expect(body.Env).not.toContain(`${NVIDIA_VISIBLE_DEVICES}=all`);
    expect(body.Env).toContain("A=1");
  });

  test("a container without GPUs gets no device request and no NVIDIA variable", () => {
    const td = spec();
    const body = createBody(buildContainerSpec(T, td, td.containerDefinitions[1]!));
    expect(body.HostConfig.DeviceRequests).toBeUndefined();
    expect((body.Env ?? []).some((e: string) => e.startsWith(NVIDIA_VISIBLE_DEVICES))).toBe(false);
  });

  test("the desired task's GPU ids are kept on the agent's containers (saved with the task)", () => {
    const td = spec();
    const desired = desiredTaskSchema.parse({
      taskId: T.taskId,
      taskArn: "arn:aws:ecs:local:000000000000:task/c/" + T.taskId,
      family: "trainer",
      revision: 1,
      taskDefinitionArn: "arn:aws:ecs:local:000000000000:task-definition/trainer:1",
      desiredStatus: "RUNNING",
      definition: td,
      gpuIds: { learner: IDS },
    });
    const task = initialTask(desired, { ok: true, spec: td }, 0);
    expect(task.containers.map((c) => [c.name, c.gpuIds])).toEqual([
      ["learner", IDS],
      ["sidecar", undefined],
    ]);
  });
});
