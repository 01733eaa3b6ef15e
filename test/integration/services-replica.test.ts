import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { describeService, serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { fewestAtOnce, mostAtOnce } from "../helpers/intervals.ts";
import { runningIntervals, serviceTaskLifetimes, servingIntervals, unstoppedIntervals } from "../helpers/task-lifetimes.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * A REPLICA service on two real agents with the real Docker engine: steady state, a killed
 * container replaced, a rolling update that keeps the minimum up and the maximum down (from the
 * recorded container times), and a broken revision that trips the circuit breaker and rolls back.
 */
const C = "svc-replica";
let tc: TestControl;
const agents: { agent: AgentProcess; instanceId: string }[] = [];

const web = (marker: string, command?: string[]) => ({
  family: "web",
  containerDefinitions: [
    {
      name: "web",
      image: "flotilla/busybox:test",
      memory: 32,
      essential: true,
      stopTimeout: 2,
      environment: [{ name: "REV", value: marker }],
      ...(command ? { command } : {}),
    },
  ],
});

beforeAll(async () => {
  tc = await startTestControl();
  agents.push(await startRegisteredAgent(tc, C), await startRegisteredAgent(tc, C));
  for (const [m, cmd] of [["1"], ["2"], ["3", ["sh", "-c", "exit 3"]]] as [string, string[]?][]) {
    expect((await tc.api("POST", "/v1/task-definitions", web(m, cmd))).status).toBe(201);
  }
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  await tc?.stop();
}, 30_000);

describe("replica service on real agents", () => {
  test("4 tasks across 2 agents reach a steady state", async () => {
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "web:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    expect(res.status).toBe(201);
    expect(res.body.service).toMatchObject({ serviceName: "web", status: "ACTIVE", desiredCount: 4, schedulingStrategy: "REPLICA" });
    const svc = await waitServiceSteady(tc, C, "web", 4, { revision: "web:1" });
    expect(svc.events[0].message).toBe("(service web) has reached a steady state.");
    const tasks = await serviceTasks(tc, C, "web");
    const per = new Map<string, number>();
    for (const t of tasks) per.set(t.containerInstanceArn, (per.get(t.containerInstanceArn) ?? 0) + 1);
    expect([...per.values()].sort()).toEqual([2, 2]);
    expect(await runningWithLabel(`flotilla.cluster=${C}`)).toHaveLength(4);
  }, 45_000);

  test("a container removed with docker rm -f is replaced", async () => {
    const [victim] = await serviceTasks(tc, C, "web");
    await docker("rm", "-f", victim.containers[0].runtimeId);
    await waitFor("a replacement task", async () => {
      const tasks = await serviceTasks(tc, C, "web");
      return tasks.length === 4 && !tasks.some((t) => t.taskId === victim.taskId) && tasks.every((t) => t.lastStatus === "RUNNING");
    });
    const stopped = (await tc.api("GET", `/v1/clusters/${C}/tasks/${victim.taskId}`)).body.task;
    expect(stopped.lastStatus).toBe("STOPPED");
    expect(await runningWithLabel(`flotilla.cluster=${C}`)).toHaveLength(4);
  }, 45_000);

  test("rolling update 1 → 2 with 50/100 never has fewer than 2 serving nor more than 4 running", async () => {
    await waitServiceSteady(tc, C, "web", 4);
    const from = Date.now();
    const upd = await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "web:2" });
    expect(upd.status).toBe(200);
    await waitServiceSteady(tc, C, "web", 4, { revision: "web:2", timeoutMs: 60_000 });
    const window = { from, to: Date.now() };
    // From the recorded times (tasks: placed → STOPPED; containers: Docker's StartedAt/FinishedAt;
    // serving until the control asked the task to stop), so a dip between two looks cannot be missed.
    const lifetimes = await serviceTaskLifetimes(tc, C, "web");
    expect(lifetimes.filter((t) => t.createdAt > from)).toHaveLength(4);
    expect(fewestAtOnce(servingIntervals(lifetimes), window).count).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce(unstoppedIntervals(lifetimes), window).count).toBeLessThanOrEqual(4);
    expect(mostAtOnce(runningIntervals(lifetimes), window).count).toBeLessThanOrEqual(4);
    const tasks = await serviceTasks(tc, C, "web");
    expect(tasks.every((t) => t.taskDefinitionArn.endsWith("web:2"))).toBe(true);
  }, 90_000);

  test("a revision that exits at once trips the circuit breaker and rolls back to the last completed one", async () => {
    const upd = await tc.api("PATCH", `/v1/clusters/${C}/services/web`, {
      taskDefinition: "web:3",
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    expect(upd.status).toBe(200);
    const svc = await waitServiceSteady(tc, C, "web", 4, { revision: "web:2", timeoutMs: 40_000 });
    expect(svc.taskDefinition).toMatch(/web:2$/);
    const messages: string[] = svc.events.map((e: any) => e.message);
    expect(messages.some((m) => /deployment failed: tasks failed to start/.test(m))).toBe(true);
    expect(messages.some((m) => m.includes("rolling back to deployment"))).toBe(true);
    // Two healthy old tasks stayed up throughout (min 50%).
    const all = (await tc.api("GET", `/v1/clusters/${C}/tasks?desiredStatus=STOPPED`)).body.tasks as any[];
    expect(all.filter((t) => t.taskDefinitionArn.endsWith("web:3")).length).toBeGreaterThanOrEqual(3);
    expect((await describeService(tc, C, "web")).runningCount).toBe(4);
  }, 45_000);
});
