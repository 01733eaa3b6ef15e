import { beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The task metadata endpoint from inside real containers (a real agent process, the real Docker
 * engine): a container reads its own task at $ECS_CONTAINER_METADATA_URI_V4/task in bridge, host
 * and awsvpc mode, and a container of another task that makes up an id gets ECS's 404.
 */
let tc: TestControl;
let agent: AgentProcess;
const CLUSTER = "task-metadata";
const IMAGE = "flotilla/busybox:test";
const MADE_UP = "00000000-0000-4000-8000-000000000000";

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent } = c) });

beforeAll(async () => {
  expect((await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, { allowHostNetwork: true })).status).toBe(200);
});

/** The container prints what it read between markers, then idles until stopped. */
const reads = (url: string) => [
  "sh",
  "-c",
  `echo "URI=$ECS_CONTAINER_METADATA_URI_V4"; echo BEGIN; wget -qO- "${url}" 2>&1; rc=$?; echo; echo "rc=$rc"; echo END; trap "exit 0" TERM; sleep 600 & wait`,
];

async function run(family: string, networkMode: string, command: string[]): Promise<{ taskId: string; taskArn: string; runtimeId: string }> {
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family,
    networkMode,
    containerDefinitions: [{ name: "reader", image: IMAGE, memory: 32, stopTimeout: 2, command }],
  });
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: family });
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  const taskId: string = res.body.tasks[0].taskId;
  const running = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);
  return { taskId, taskArn: running.taskArn, runtimeId: running.containers[0].runtimeId };
}

/** What the container printed between BEGIN and END (its log, as `docker logs` shows it). */
async function printed(runtimeId: string): Promise<{ uri: string; body: string }> {
  const log = await waitFor("the container's read", async () => {
    const out = await docker("logs", runtimeId);
    return out.includes("\nEND") ? out : undefined;
  });
  return { uri: /URI=(.*)/.exec(log)![1]!, body: log.slice(log.indexOf("BEGIN\n") + 6, log.indexOf("\nEND")) };
}

describe("task metadata endpoint, from inside the task's containers", () => {
  test("the agent serves it on the Docker bridge's gateway", () => {
    expect(agent.output()).toMatch(/task metadata endpoint on http:\/\/\d+\.\d+\.\d+\.\d+:\d+/);
  });

  for (const networkMode of ["bridge", "host", "awsvpc"] as const) {
    test(`${networkMode}: a container reads its own task at $ECS_CONTAINER_METADATA_URI_V4/task`, async () => {
      const family = `reads-own-${networkMode}`;
      const t = await run(family, networkMode, reads("$ECS_CONTAINER_METADATA_URI_V4/task"));
      const { uri, body } = await printed(t.runtimeId);
      const base = /task metadata endpoint on ([^\s"]+)/.exec(agent.output())![1]!;
      expect(uri).toMatch(new RegExp(`^${base.replaceAll(".", "\\.")}/v4/[0-9a-f-]{36}$`));
      const [json, rc] = body.split("\nrc=");
      expect(rc).toBe("0");
      const task = JSON.parse(json!);
      expect(task).toMatchObject({ Cluster: CLUSTER, TaskARN: t.taskArn, Family: family, Revision: "1", DesiredStatus: "RUNNING", LaunchType: "EXTERNAL" });
      expect(task.Containers).toHaveLength(1);
      expect(task.Containers[0]).toMatchObject({ Name: "reader", DockerId: t.runtimeId, Image: IMAGE, Type: "NORMAL" });
      expect(task.Containers[0].ImageID).toStartWith("sha256:");
      expect(task.Containers[0].Networks[0].NetworkMode).toBe(networkMode);
      if (networkMode === "bridge") {
        // The address is the bridge container's own gateway: the host, as the container sees it.
        expect(new URL(base).hostname).toBe(await docker("inspect", "--format", "{{.NetworkSettings.Gateway}}", t.runtimeId));
        expect(task.Containers[0].Networks[0].IPv4Addresses[0]).toBe(await docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", t.runtimeId));
        // Docker's stats body through the same URI (read here from the host, which owns the address too).
        // The engine's first reading of a container that has just started can lack the cgroup figures.
        const stats: any = await waitFor("a stats reading with CPU figures", async () => {
          const body: any = await (await fetch(`${uri}/task/stats`)).json();
          return body[t.runtimeId]?.cpu_stats?.cpu_usage ? body : undefined;
        });
        expect(Object.keys(stats)).toEqual([t.runtimeId]);
        expect(stats[t.runtimeId]).toMatchObject({ id: t.runtimeId, name: `/flotilla-${t.taskId}-reader`, precpu_stats: { cpu_usage: expect.any(Object) } });
        expect(stats[t.runtimeId].memory_stats.usage).toBeGreaterThan(0);
      }
      await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${t.taskId}/stop`, { reason: "test is done" });
    }, 60_000);
  }

  test("a container of another task that makes up an id gets 404", async () => {
    // Its own URI with the id swapped for one it made up: the same endpoint, someone else's name.
    const t = await run("guesses", "bridge", reads(`\${ECS_CONTAINER_METADATA_URI_V4%/*}/${MADE_UP}/task`));
    const { body } = await printed(t.runtimeId);
    expect(body).toContain("404");
    expect(body).not.toContain("TaskARN");
    expect(body).toMatch(/rc=1$/);
  }, 60_000);

  test("a port already taken: the agent says so in one line and runs without the endpoint", async () => {
    const address = /task metadata endpoint on http:\/\/([\d.]+):/.exec(agent.output())![1]!;
    const squatter = Bun.serve({ hostname: address, port: 0, fetch: () => new Response("not the agent") });
    try {
      const other = await startRegisteredAgent(tc, CLUSTER, ["--task-metadata-port", String(squatter.port)]);
      expect(other.agent.output()).toContain("task metadata endpoint not started:");
      expect(other.agent.output()).not.toContain("task metadata endpoint on");
      await other.agent.stop();
    } finally {
      await squatter.stop(true);
    }
  }, 60_000);
});
