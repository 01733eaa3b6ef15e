import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { taskMetadataApp } from "../../../agent/metadata/server.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The engine gives every task container its own metadata URIs (ECS_CONTAINER_METADATA_URI and
 * _V4) with a random id kept in the task's state, and the endpoint answers that id with the task.
 */
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const BASE = "http://172.17.0.1:51679";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let engine: TaskEngine | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

function desired(taskId: string, generation = 1): DesiredState {
  return {
    instanceId: "i-meta",
    clusterName: "edge",
    generation,
    tasks: [
      {
        taskId,
        taskArn: `arn:aws:ecs:local:000000000000:task/edge/${taskId}`,
        family: "shop",
        revision: 1,
        taskDefinitionArn: "arn:aws:ecs:local:000000000000:task-definition/shop:1",
        desiredStatus: "RUNNING",
        definition: {
          family: "shop",
          containerDefinitions: [
            { name: "app", image: "nginx", memory: 32, environment: [{ name: "ECS_CONTAINER_METADATA_URI_V4", value: "http://elsewhere" }] },
            { name: "otel", image: "nginx", memory: 32 },
          ],
        },
      },
    ],
  };
}

function start(rt: HollowRuntime, taskMetadataUrl?: string, store = memoryStateStore()) {
  engine = new TaskEngine({ runtime: rt, store, instanceId: "i-meta", clusterName: "edge", relistIntervalMs: 20, taskMetadataUrl });
  engine.start();
  return engine;
}

const envOf = async (rt: HollowRuntime, name: string) => rt.specOf((await rt.list({ [LABELS.containerName]: name }))[0]!.id)!.env ?? {};

describe("metadata URIs in the containers' environment", () => {
  test("each container gets its own random id in both URIs, over the definition's value, and the endpoint answers it", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt, BASE);
    e.applyDesired(desired("t1"));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const [app, otel] = e.state.tasks.t1!.containers;
    expect(app!.metadataId).toMatch(UUID_V4);
    expect(otel!.metadataId).toMatch(UUID_V4);
    expect(app!.metadataId).not.toBe(otel!.metadataId);
    const env = await envOf(rt, "app");
    expect(env.ECS_CONTAINER_METADATA_URI_V4).toBe(`${BASE}/v4/${app!.metadataId}`);
    expect(env.ECS_CONTAINER_METADATA_URI).toBe(`${BASE}/v3/${app!.metadataId}`);
    expect((await envOf(rt, "otel")).ECS_CONTAINER_METADATA_URI_V4).toBe(`${BASE}/v4/${otel!.metadataId}`);
    // The pulls are timed (PullStartedAt/PullStoppedAt).
    expect(e.state.tasks.t1!.pullStartedAt).toBeNumber();
    expect(e.state.tasks.t1!.pullStoppedAt).toBeGreaterThanOrEqual(e.state.tasks.t1!.pullStartedAt!);

    // What the container would read at its URI: its own task, served from the runners' state.
    const server = taskMetadataApp({ context: { clusterName: "edge" }, tasks: () => Object.values(e.state.tasks), runtime: rt });
    const path = new URL(env.ECS_CONTAINER_METADATA_URI_V4!).pathname;
    const task: any = await (await server.request(`${path}/task`)).json();
    expect(task).toMatchObject({ Cluster: "edge", TaskARN: "arn:aws:ecs:local:000000000000:task/edge/t1", Family: "shop", Revision: "1", KnownStatus: "RUNNING" });
    expect(task.Containers.map((c: any) => c.Name)).toEqual(["app", "otel"]);
    const me: any = await (await server.request(path)).json();
    expect(me).toMatchObject({ Name: "app", DockerId: app!.runtimeId });
    const stats: any = await (await server.request(`${path}/task/stats`)).json();
    expect(Object.keys(stats).sort()).toEqual([app!.runtimeId!, otel!.runtimeId!].sort());
  });

  test("ids are new for every task, so one task's ids say nothing of another's", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt, BASE);
    e.applyDesired(desired("t1"));
    await waitFor("t1 RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    e.applyDesired({ ...desired("t2", 2), tasks: [...desired("t1").tasks, ...desired("t2").tasks] });
    await waitFor("t2 RUNNING", () => e.state.tasks.t2?.knownStatus === "RUNNING");
    const ids = ["t1", "t2"].flatMap((t) => e.state.tasks[t]!.containers.map((c) => c.metadataId));
    expect(new Set(ids).size).toBe(4);
  });

  test("a restarted agent keeps the ids: the container it adopts still reads its task at the URI it was given", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const store = memoryStateStore();
    const first = new TaskEngine({ runtime: rt, store, instanceId: "i-meta", clusterName: "edge", relistIntervalMs: 20, taskMetadataUrl: BASE, saveDelayMs: 0 });
    first.start();
    first.applyDesired(desired("t1"));
    await waitFor("RUNNING", () => first.state.tasks.t1?.knownStatus === "RUNNING");
    const given = (await envOf(rt, "app")).ECS_CONTAINER_METADATA_URI_V4!;
    await first.stop();

    const e = start(rt, BASE, store);
    expect(e.state.tasks.t1!.containers[0]!.metadataId).toBe(given.split("/").pop());
    const server = taskMetadataApp({ context: { clusterName: "edge" }, tasks: () => Object.values(e.state.tasks), runtime: rt });
    const me: any = await (await server.request(new URL(given).pathname)).json();
    expect(me).toMatchObject({ Name: "app", DockerId: (await rt.list({ [LABELS.containerName]: "app" }))[0]!.id });
    expect(rt.calls.create).toBe(2);
  });

  test("without an endpoint the agent adds nothing (the definition's own value stays)", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const e = start(rt);
    e.applyDesired(desired("t1"));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const env = await envOf(rt, "app");
    expect(env.ECS_CONTAINER_METADATA_URI_V4).toBe("http://elsewhere");
    expect(env).not.toContainKey("ECS_CONTAINER_METADATA_URI");
    expect(await envOf(rt, "otel")).toEqual({});
  });
});
