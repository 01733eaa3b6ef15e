import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { describeService, serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Failover on the edge: an agent killed with SIGKILL loses its service tasks to the other agents
 * after the grace period; when it comes back, the stale copies are stopped and the service returns
 * to its desired count. A standalone task on the lost instance is never duplicated.
 */
const C = "svc-failover";
let tc: TestControl;
const agents: { agent: AgentProcess; instanceId: string }[] = [];

const TD = {
  family: "f",
  containerDefinitions: [{ name: "f", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2 }],
};

beforeAll(async () => {
  tc = await startTestControl();
  agents.push(await startRegisteredAgent(tc, C), await startRegisteredAgent(tc, C));
  expect((await tc.api("POST", "/v1/task-definitions", TD)).status).toBe(201);
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  await tc?.stop();
}, 30_000);

describe("failover of service tasks from a lost agent", () => {
  test("kill -9 an agent: after the grace period its tasks run elsewhere; on restart the stale copies stop", async () => {
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "f", desiredCount: 4, disconnectGracePeriodSeconds: 2 });
    expect(res.status).toBe(201);
    await waitServiceSteady(tc, C, "web", 4);
    const victim = agents[0]!;
    const survivor = agents[1]!;
    const standalone = await tc.api("POST", `/v1/clusters/${C}/tasks`, {
      taskDefinition: "f",
      placementConstraints: [{ type: "memberOf", expression: `attribute:ecs.instance-id == "${victim.instanceId}"` }],
    });
    const standaloneId: string = standalone.body.tasks[0].taskId;
    await waitFor("standalone task RUNNING", async () => (await tc.api("GET", `/v1/clusters/${C}/tasks/${standaloneId}`)).body.task.lastStatus === "RUNNING");
    const lostIds = (await serviceTasks(tc, C, "web")).filter((t) => t.containerInstanceId === victim.instanceId).map((t) => t.taskId);
    expect(lostIds).toHaveLength(2);

    await victim.agent.kill9();
    await waitFor("the instance to be seen disconnected", async () => {
      const ci = (await tc.api("GET", `/v1/clusters/${C}/container-instances/${victim.instanceId}`)).body.containerInstance;
      return ci.agentConnected === false;
    });
    await waitFor("4 web tasks RUNNING on the surviving agent", async () => {
      const list = await serviceTasks(tc, C, "web");
      return list.length === 4 && list.every((t) => t.containerInstanceId === survivor.instanceId && t.lastStatus === "RUNNING");
    });
    for (const id of lostIds) {
      const t = (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task;
      expect(t.desiredStatus).toBe("STOPPED");
      expect(t.stoppedReason).toMatch(/^Task lost/);
    }
    // The standalone task stays: never duplicated.
    expect((await tc.api("GET", `/v1/clusters/${C}/tasks/${standaloneId}`)).body.task.desiredStatus).toBe("RUNNING");
    expect((await tc.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks.filter((t: any) => t.group === "family:f")).toHaveLength(1);
    // The killed agent's containers are still there, running, until it returns.
    expect(await runningWithLabel(`flotilla.instance-id=${victim.instanceId}`)).toHaveLength(3);

    const restarted = startAgentProcess({ control: tc.control.mqttUrl, dataDir: victim.agent.dataDir, args: ["--image-pull-behavior", "prefer-cached"] });
    agents[0] = { agent: restarted, instanceId: victim.instanceId };
    await waitFor("the stale service copies to be stopped on the returning agent", async () => {
      const ids = await Promise.all(lostIds.map((id) => runningWithLabel(`flotilla.task-id=${id}`)));
      return ids.every((l) => l.length === 0);
    }, { timeoutMs: 20_000 });
    await waitServiceSteady(tc, C, "web", 4);
    expect(await runningWithLabel(`flotilla.instance-id=${victim.instanceId}`)).toHaveLength(1);
    expect((await tc.api("GET", `/v1/clusters/${C}/tasks/${standaloneId}`)).body.task.lastStatus).toBe("RUNNING");
    const svc = await describeService(tc, C, "web");
    expect(svc.events.some((e: any) => e.message.includes("marked 2 tasks lost"))).toBe(true);
    for (const id of lostIds) {
      await waitFor(`lost task ${id} STOPPED`, async () => (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task.lastStatus === "STOPPED");
    }
  }, 45_000);
});
