import { beforeAll, expect, test } from "bun:test";
import { resourceInteger, resourcePorts } from "../../shared/instance-resources.ts";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

/**
 * Remaining resources stay exact through placements, a stop, and an agent killed with SIGKILL and
 * restarted: what GET container-instance says always equals registered minus the sum of the live
 * tasks' reservations as GET tasks reports them. Real control, real agent process, real Docker.
 */
const CLUSTER = "placement-resources";
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
let hostPort: number;

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent, instanceId } = c) });

beforeAll(async () => {
  hostPort = await freePort();
  const sleeper = {
    family: "sleeper",
    containerDefinitions: [
      { name: "main", image: "flotilla/busybox:test", cpu: 128, memory: 48, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] },
    ],
  };
  const web = {
    family: "web",
    networkMode: "bridge",
    containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", cpu: 64, memory: 32, portMappings: [{ containerPort: 80, hostPort, protocol: "tcp" }] }],
  };
  for (const td of [sleeper, web]) expect((await tc.api("POST", "/v1/task-definitions", td)).status).toBe(201);
});

/** GET container-instance against registered minus what the live tasks (GET tasks) reserve. */
async function expectExactRemaining() {
  const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
  const listed = [
    ...(await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks?desiredStatus=RUNNING`)).body.tasks,
    ...(await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks?desiredStatus=STOPPED`)).body.tasks,
  ];
  const live = await Promise.all(
    listed.filter((t: any) => t.lastStatus !== "STOPPED").map(async (t: any) => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${t.taskId}`)).body.task),
  );
  const sum = (k: "cpu" | "memory") => live.reduce((a: number, t: any) => a + Number(t[k]), 0);
  expect(resourceInteger(ci.remainingResources, "CPU")).toBe(resourceInteger(ci.registeredResources, "CPU")! - sum("cpu"));
  expect(resourceInteger(ci.remainingResources, "MEMORY")).toBe(resourceInteger(ci.registeredResources, "MEMORY")! - sum("memory"));
  const webLive = live.some((t: any) => t.taskDefinitionArn.endsWith("task-definition/web:1"));
  expect(resourcePorts(ci.remainingResources, "PORTS")).toEqual(webLive ? [hostPort] : []);
  return { ci, live };
}

async function runTasks(family: string, count: number): Promise<string[]> {
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: family, count });
  expect(res.body.failures).toEqual([]);
  const ids = (res.body.tasks as any[]).map((t) => t.taskId as string);
  for (const id of ids) await waitTaskStatus(tc, CLUSTER, id, "RUNNING", 60_000);
  return ids;
}

test("remaining resources are exact after placements, a stop, and an agent kill -9 + restart", async () => {
  const before = await expectExactRemaining();
  expect(before.live).toHaveLength(0);

  const sleepers = await runTasks("sleeper", 3);
  const [webTask] = await runTasks("web", 1);
  expect((await expectExactRemaining()).live).toHaveLength(4);

  // A second task with the same static host port cannot go on the only instance.
  const clash = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "web" });
  expect(clash.body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:PORTS" })]);
  await expectExactRemaining();

  expect((await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${sleepers[0]}/stop`, { reason: "test" })).status).toBe(200);
  await waitTaskStatus(tc, CLUSTER, sleepers[0]!, "STOPPED", 60_000);
  expect((await expectExactRemaining()).live).toHaveLength(3);

  expect((await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${webTask}/stop`, {})).status).toBe(200);
  await waitTaskStatus(tc, CLUSTER, webTask!, "STOPPED", 60_000);
  expect((await expectExactRemaining()).live).toHaveLength(2);

  await agent.kill9();
  // The broker's last will marks the instance disconnected; wait for that so the reconnect below
  // is the restarted agent's.
  await waitFor("killed agent to be seen as disconnected", async () => {
    const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
    return ci.agentConnected ? undefined : ci;
  }, { timeoutMs: 30_000 });
  await expectExactRemaining();
  agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: agent.dataDir, args: ["--image-pull-behavior", "prefer-cached", "--pause-image", "flotilla/busybox:test"] });
  await waitFor("restarted agent to connect", async () => {
    const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
    return ci.agentConnected ? ci : undefined;
  }, { timeoutMs: 30_000 });
  // The surviving tasks are still RUNNING after the restart, and nothing was released twice or lost.
  for (const id of sleepers.slice(1)) await waitTaskStatus(tc, CLUSTER, id, "RUNNING", 30_000);
  expect((await expectExactRemaining()).live).toHaveLength(2);

  // The port is free again and placements after the restart are still counted exactly.
  await runTasks("web", 1);
  await runTasks("sleeper", 2);
  expect((await expectExactRemaining()).live).toHaveLength(5);
}, 240_000);
