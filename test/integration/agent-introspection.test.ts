import { beforeAll, describe, expect, test } from "bun:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster, startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/** The agent's local introspection API on 127.0.0.1, shaped like ECS's port-51678 API. */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
let base: string;
const CLUSTER = "introspect";

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent, instanceId } = c) });

beforeAll(async () => {
  const port = await waitFor("the introspection line", () => /introspection API on http:\/\/127\.0\.0\.1:(\d+)/.exec(agent.output())?.[1]);
  base = `http://127.0.0.1:${port}`;
});

describe("introspection API", () => {
  test("metadata: instance, cluster, connection and agent version", async () => {
    const meta: any = await (await fetch(`${base}/v1/metadata`)).json();
    const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
    expect(meta).toMatchObject({
      Cluster: CLUSTER,
      ContainerInstanceArn: ci.containerInstanceArn,
      ContainerInstanceId: instanceId,
      Connected: true,
      AgentVersion: ci.versionInfo.agentVersion,
    });
    expect(meta.Version).toStartWith("Flotilla Agent - v");
  });

  test("tasks: what the agent knows and runs, with Docker ids", async () => {
    await tc.api("POST", "/v1/task-definitions", {
      family: "seen",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }],
    });
    const taskId: string = (await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "seen" })).body.tasks[0].taskId;
    const running = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const all: any = await (await fetch(`${base}/v1/tasks`)).json();
    const mine = all.Tasks.find((t: any) => t.TaskId === taskId);
    expect(mine).toMatchObject({ Arn: running.taskArn, Family: "seen", Version: "1", DesiredStatus: "RUNNING", KnownStatus: "RUNNING" });
    expect(mine.Containers).toEqual([expect.objectContaining({ Name: "main", DockerId: running.containers[0].runtimeId, KnownStatus: "RUNNING" })]);
    const one: any = await (await fetch(`${base}/v1/tasks?taskarn=${encodeURIComponent(running.taskArn)}`)).json();
    expect(one.TaskId).toBe(taskId);
    const missing = await fetch(`${base}/v1/tasks?taskarn=nope`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${base}/v1/nothing`)).status).toBe(404);
  });

  test("a bad --introspection-port is a usage error with one readable line", async () => {
    const p = startAgentProcess({ control: tc.control.mqttUrl, args: ["--introspection-port", "70000"] });
    expect(await p.exited).toBe(2);
    expect(p.output().trim()).toStartWith("flotilla-agent: --introspection-port must be a port number");
  });

  test("--introspection-port off: the agent runs without a local API", async () => {
    const off = await startRegisteredAgent(tc, CLUSTER, ["--introspection-port", "off"]);
    try {
      expect(off.agent.output()).toContain("connected to");
      expect(off.agent.output()).not.toContain("introspection API on");
    } finally {
      await off.agent.stop();
    }
  });

  test("a missing --registry-credentials file fails fast with one readable line", async () => {
    const p = startAgentProcess({ control: tc.control.mqttUrl, args: ["--registry-credentials", "/nonexistent.json"] });
    expect(await p.exited).toBe(2);
    expect(p.output().trim()).toStartWith("flotilla-agent: cannot read registry credentials /nonexistent.json");
  });
});
