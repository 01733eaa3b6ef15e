/**
 * A process that changes its state file as fast as it can, for the kill -9 test: the real engine
 * (runners, coalescing saver, atomic writes) on the in-memory runtime, with waves of tasks started,
 * stopped and dropped. It prints "saving" once the first wave is under way.
 */
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { fileStateStore } from "../../../agent/store/state-file.ts";
import type { DesiredTask } from "../../../shared/messages.ts";

const dir = process.argv[2]!;
const instanceId = "i-burst";
const rt = new HollowRuntime({ timings: { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 }, cachedImages: ["nginx"] });
const engine = new TaskEngine({ runtime: rt, store: fileStateStore(dir), instanceId, clusterName: "c", relistIntervalMs: 5, cleanupWaitMs: 0, saveDelayMs: 1 });
engine.start();
const definition = { family: "f", containerDefinitions: [{ name: "a", image: "nginx", memory: 8 }, { name: "b", image: "nginx", memory: 8, essential: false }] };
const task = (taskId: string, desiredStatus: "RUNNING" | "STOPPED"): DesiredTask => ({
  taskId,
  taskArn: `arn:${taskId}`,
  family: "f",
  revision: 1,
  taskDefinitionArn: "arn:f:1",
  desiredStatus,
  definition,
});
let generation = engine.state.generation;
const send = (tasks: DesiredTask[]) => engine.applyDesired({ instanceId, clusterName: "c", generation: ++generation, tasks });
for (let wave = 0; ; wave++) {
  const ids = Array.from({ length: 30 }, (_, i) => `w${process.pid}-${wave}-${i}`);
  send(ids.map((id) => task(id, "RUNNING")));
  if (wave === 0) console.log("saving");
  await Bun.sleep(Math.random() * 40);
  send(ids.map((id) => task(id, "STOPPED")));
  await Bun.sleep(Math.random() * 40);
  send([]);
}
