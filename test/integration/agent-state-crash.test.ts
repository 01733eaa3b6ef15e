import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { fileStateStore } from "../../agent/store/state-file.ts";

/**
 * kill -9 of a real agent process while it is starting a burst of tasks, three times: the state
 * file it leaves always loads, and the restarted agent finishes the burst with exactly one container
 * per task (nothing duplicated, nothing lost). Real control, real agent processes, real Docker.
 */
const CLUSTER = "state-crash";
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;

beforeAll(async () => {
  tc = await startTestControl();
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER));
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family: "crash-sleeper",
    containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 16, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }],
  });
  expect(reg.status).toBe(201);
});

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  await tc?.stop();
});

const containersOf = async (taskId: string) => (await docker("ps", "-aq", "--filter", `label=flotilla.task-id=${taskId}`)).split("\n").filter(Boolean);

describe("agent state file under kill -9", () => {
  test("killed during a burst of starts, three times: the file loads and the restarted agent finishes the burst once", async () => {
    const all: string[] = [];
    for (let round = 0; round < 3; round++) {
      const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "crash-sleeper", count: 5 });
      expect(run.body.failures).toEqual([]);
      const ids: string[] = run.body.tasks.map((t: any) => t.taskId);
      all.push(...ids);
      // Somewhere in the burst: once the agent has the tasks, after a random part of a second.
      await waitFor("the agent to have the new tasks", () => agent.output().includes(`(${all.length} tasks)`), { intervalMs: 10 });
      await Bun.sleep(Math.random() * 800);
      await agent.kill9();

      const state = fileStateStore(agent.dataDir).load();
      expect(state.version).toBe(1);

      agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: agent.dataDir, args: ["--image-pull-behavior", "prefer-cached", "--pause-image", "flotilla/busybox:test"] });
      for (const id of ids) await waitTaskStatus(tc, CLUSTER, id, "RUNNING", 60_000);
    }
    for (const id of all) expect(await containersOf(id)).toHaveLength(1);
  }, 300_000);
});
