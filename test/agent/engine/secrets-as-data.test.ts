import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { withoutSecrets } from "../../../agent/engine/task-work.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore, type StateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * Secret values reach the engine inside the desired task: they end up in the container's
 * environment and nowhere in the saved state, and after an agent restart the retained desired
 * message (same generation) hands them over again.
 */
const instanceId = "i-secrets";
const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
const engines: TaskEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

const definition = {
  family: "f",
  containerDefinitions: [
    { name: "app", image: "nginx", memory: 8, environment: [{ name: "PLAIN", value: "1" }] },
    { name: "late", image: "nginx", memory: 8, essential: false, dependsOn: [{ containerName: "app", condition: "START" }] },
  ],
};

function desired(generation: number, taskIds: string[]): DesiredState {
  return {
    instanceId,
    clusterName: "c",
    generation,
    tasks: taskIds.map((taskId) => ({
      taskId,
      taskArn: `arn:${taskId}`,
      family: "f",
      revision: 1,
      taskDefinitionArn: "arn:f:1",
      desiredStatus: "RUNNING" as const,
      definition,
      secrets: { app: { DB_PASSWORD: `s3cret-${taskId}` }, late: { TOKEN: `t0ken-${taskId}` } },
    })),
  };
}

function start(rt: HollowRuntime, store: StateStore) {
  const e = new TaskEngine({ runtime: rt, store, instanceId, clusterName: "c", relistIntervalMs: 20 });
  engines.push(e);
  e.start();
  return e;
}

const envOf = async (rt: HollowRuntime, taskId: string, name: string) =>
  rt.specOf((await rt.list({ [LABELS.taskId]: taskId, [LABELS.containerName]: name }))[0]!.id)?.env;

describe("secrets as data", () => {
  test("each task's secret values reach its own containers' environment and never the state", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const store = memoryStateStore();
    const e = start(rt, store);
    e.applyDesired(desired(1, ["t1", "t2"]));
    await waitFor("every container RUNNING", () => ["t1", "t2"].every((id) => e.state.tasks[id]?.containers.every((c) => c.knownStatus === "RUNNING")));
    expect(await envOf(rt, "t1", "app")).toEqual({ PLAIN: "1", DB_PASSWORD: "s3cret-t1" });
    expect(await envOf(rt, "t2", "late")).toEqual({ TOKEN: "t0ken-t2" });
    await e.stop();
    const saved = JSON.stringify(store.load());
    expect(saved).not.toContain("s3cret");
    expect(saved).not.toContain("t0ken");
  });

  test("secretOptions values reach the container's LogConfig, next to its options, and never the state", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const store = memoryStateStore();
    const e = start(rt, store);
    const d = desired(1, ["t1"]);
    d.tasks[0]!.definition = {
      family: "f",
      containerDefinitions: [
        {
          name: "app",
          image: "nginx",
          memory: 8,
          logConfiguration: { logDriver: "splunk", options: { "splunk-url": "https://splunk.example:8088" }, secretOptions: [{ name: "splunk-token", valueFrom: "splunk/token" }] },
        },
      ],
    };
    d.tasks[0]!.secrets = undefined;
    d.tasks[0]!.logSecretOptions = { app: { "splunk-token": "hec-t0ken-1" } };
    e.applyDesired(d);
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const id = (await rt.list({ [LABELS.taskId]: "t1", [LABELS.containerName]: "app" }))[0]!.id;
    expect(rt.specOf(id)?.logConfig).toEqual({ type: "splunk", options: { "splunk-url": "https://splunk.example:8088", "splunk-token": "hec-t0ken-1" } });
    await e.stop();
    expect(JSON.stringify(store.load())).not.toContain("hec-t0ken");
  });

  test("a start error that echoes a secret value is reported with the value blanked out", () => {
    const s = { env: { app: { DB_PASSWORD: "pa55word" } }, registry: {}, logOptions: { app: { "splunk-token": "hec-t0ken-1" } } };
    expect(withoutSecrets('invalid option "hec-t0ken-1" (env pa55word), "abc" kept', s)).toBe('invalid option "***" (env ***), "abc" kept');
  });

  test("after a restart, the retained desired set (same generation) gives a task not yet created its secrets", async () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx"] });
    const store = memoryStateStore();
    const first = new TaskEngine({ runtime: rt, store, instanceId, clusterName: "c" });
    // Not started: the task is known and saved, but none of its containers exist yet.
    first.applyDesired(desired(1, ["t1"]));
    await first.stop();
    const e = new TaskEngine({ runtime: rt, store, instanceId, clusterName: "c", relistIntervalMs: 20 });
    engines.push(e);
    expect(e.applyDesired(desired(1, ["t1"]))).toBe(false); // stale generation: nothing changes, secrets do
    e.start();
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    expect(await envOf(rt, "t1", "app")).toEqual({ PLAIN: "1", DB_PASSWORD: "s3cret-t1" });
  });
});
