import { describe, expect, test } from "bun:test";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * A host that vanishes without closing its TCP connection (power loss, network partition) is only
 * noticed by the MQTT keepalive: the broker gives up 1.5 × the agent's --keepalive-seconds after
 * its last packet. SIGSTOP freezes a real agent process with its socket open, as such a host
 * would; SIGCONT brings it back. Real control service, real agent process, real Docker.
 */
const KEEPALIVE_SECONDS = 2;
/**
 * The broker gives up 3 s after the last packet. The deadline leaves room for a busy machine and
 * still sits far below what the default keepalive (10) would take, 15 s: reaching it in time shows
 * the flag took effect. How fast it is belongs to the benchmark (scripts/bench/failure.ts).
 */
const DETECTION_DEADLINE_MS = 8_000;
const DEFAULT_KEEPALIVE_DETECTION_MS = 10 * 1500;
const cluster = "keepalive";
const env = singleAgentCluster(cluster, { agentArgs: ["--keepalive-seconds", String(KEEPALIVE_SECONDS)] });

const SLEEPER = `trap "exit 0" TERM; sleep 600 & wait`;

async function agentConnected(): Promise<boolean | undefined> {
  const res = await env.tc.api("GET", `/v1/clusters/${cluster}/container-instances/${env.instanceId}`);
  return res.body.containerInstance?.agentConnected;
}

describe("agent MQTT keepalive (--keepalive-seconds)", () => {
  test("a frozen agent is marked disconnected within the keepalive's 1.5 ×, and comes back with its task untouched", async () => {
    const { tc, agent } = env;
    await tc.api("POST", "/v1/task-definitions", {
      family: "keepalive-sleeper",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", SLEEPER] }],
    });
    const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: "keepalive-sleeper" });
    expect(run.body.failures).toEqual([]);
    const taskId = run.body.tasks[0].taskId as string;
    const before = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 30_000);
    const containerId = before.containers[0].runtimeId as string;
    expect(containerId).toBeTruthy();

    agent.proc.kill("SIGSTOP");
    try {
      const frozenAt = performance.now();
      await waitFor("the frozen agent to show agentConnected:false", async () => (await agentConnected()) === false, {
        timeoutMs: DETECTION_DEADLINE_MS,
        intervalMs: 50,
      });
      const detectedMs = performance.now() - frozenAt;
      expect(detectedMs).toBeLessThan(DEFAULT_KEEPALIVE_DETECTION_MS);
      // Losing the agent never stops workloads: the container runs on while the agent is frozen.
      expect(await docker("inspect", "--format", "{{.State.Running}}", containerId)).toBe("true");
    } finally {
      agent.proc.kill("SIGCONT");
    }

    await waitFor("the resumed agent to reconnect", async () => (await agentConnected()) === true, { timeoutMs: 20_000, intervalMs: 50 });
    expect(agent.output()).toContain("disconnected from");
    // After its full report the control still has the same task, on the same container.
    const after = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 10_000);
    expect(after.containerInstanceId).toBe(env.instanceId);
    expect(after.containers[0].runtimeId).toBe(containerId);
    const tasks = (await tc.api("GET", `/v1/clusters/${cluster}/tasks`)).body.tasks as any[];
    expect(tasks.map((t) => t.taskId)).toEqual([taskId]);
    expect(await docker("inspect", "--format", "{{.State.Running}}", containerId)).toBe("true");
  }, 60_000);
});
