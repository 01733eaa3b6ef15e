import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { describeService, serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { fewestAtOnce, mostAtOnce } from "../helpers/intervals.ts";
import { runningIntervals, serviceTaskLifetimes, servingIntervals, unstoppedIntervals } from "../helpers/task-lifetimes.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The scheduler keeps its state in the database: a control service stopped in the middle of a
 * rolling deployment and started again on the same database finishes that deployment, within the
 * same limits, with the agents that reconnect to it.
 */
const C = "svc-restart";
const dir = mkdtempSync(join(tmpdir(), "flotilla-svc-restart-"));
let tc: TestControl;
const agents: { agent: AgentProcess; instanceId: string }[] = [];

const td = (rev: string) => ({
  family: "r",
  containerDefinitions: [
    { name: "r", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, environment: [{ name: "REV", value: rev }] },
  ],
});

beforeAll(async () => {
  tc = await startTestControl({ dir });
  agents.push(await startRegisteredAgent(tc, C), await startRegisteredAgent(tc, C));
  for (const rev of ["1", "2"]) expect((await tc.api("POST", "/v1/task-definitions", td(rev))).status).toBe(201);
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  await tc?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("control restart mid-deployment", () => {
  test("a rolling update interrupted by a control restart completes, never below the minimum", async () => {
    await tc.api("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "r:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    await waitServiceSteady(tc, C, "web", 4, { timeoutMs: 40_000 });
    const from = Date.now();
    await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "r:2" });
    // Stop the control as soon as the rollout has begun (old tasks stopping or new ones started).
    await waitFor("the rollout to begin", async () => {
      const tasks = await serviceTasks(tc, C, "web");
      return tasks.some((t) => t.taskDefinitionArn.endsWith("r:2")) || tasks.length < 4;
    }, { intervalMs: 20 });
    const brokerPort = Number(new URL(tc.control.mqttUrl).port);
    await tc.stop();
    tc = await startTestControl({ dir, brokerPort });
    const mid = await describeService(tc, C, "web");
    expect(mid.deployments.map((d: any) => d.status)).toEqual(["PRIMARY", "ACTIVE"]);
    const svc = await waitServiceSteady(tc, C, "web", 4, { revision: "r:2", timeoutMs: 90_000 });
    const window = { from, to: Date.now() };
    expect(svc.deployments[0].id).toBe(mid.deployments[0].id);
    // From the recorded task and container times, across both control processes: no dip missed.
    const lifetimes = await serviceTaskLifetimes(tc, C, "web");
    expect(fewestAtOnce(servingIntervals(lifetimes), window).count).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce(unstoppedIntervals(lifetimes), window).count).toBeLessThanOrEqual(4);
    expect(mostAtOnce(runningIntervals(lifetimes), window).count).toBeLessThanOrEqual(4);
    expect((await serviceTasks(tc, C, "web")).every((t) => t.taskDefinitionArn.endsWith("r:2"))).toBe(true);
    await waitFor("4 containers", async () => (await runningWithLabel(`flotilla.cluster=${C}`)).length === 4);
  }, 160_000);
});
