import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";
import { startRedis, type Redis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";
import { logEntriesOf } from "../helpers/log-capture.ts";
import { asTestControl, startControlProcess, type ControlProcess } from "../control/leader/control-process.ts";

/**
 * The clustered embedded broker with real processes: two control processes (`--ha`, one libSQL
 * file, `--broker-cluster` through one redis-server), each with its broker node on its own port,
 * and a real agent given both nodes' URLs. A task run through node 2's API reaches the agent on
 * node 1; node 1's process is killed (SIGKILL); the agent moves to node 2, keeps its task, and a
 * new desired set (StopTask) reaches it there and its report is applied.
 */
const C = "brokercluster";
let dir: string;
let redis: Redis;
const controls: ControlProcess[] = [];
let agent: { agent: AgentProcess; instanceId: string } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-ha-cluster-"));
  redis = await startRedis();
  const masterKey = randomBytes(32).toString("hex");
  for (const id of ["b1", "b2"]) controls.push(await startControlProcess({ id, db: `file:${join(dir, "flotilla.db")}`, broker: { cluster: redis.url }, masterKey, extraArgs: ["--log-level", "debug"] }));
}, 60_000);

afterAll(async () => {
  await agent?.agent.stop();
  if (agent) await removeInstanceContainers(agent.instanceId);
  for (const c of controls) await c.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("clustered embedded broker, real processes", () => {
  test("kill -9 of the agent's node: it reconnects to the next, keeps its task, and a new desired set reaches it", async () => {
    const [n1, n2] = [controls[0]!, controls[1]!];
    expect(n1.mqttUrl && n2.mqttUrl).toBeTruthy();
    // The agent's --control: node 1 first, then node 2.
    agent = await startRegisteredAgent(asTestControl(n2, `${n1.mqttUrl},${n2.mqttUrl}`), C);
    expect(agent.agent.output()).toContain(`connected to ${n1.mqttUrl}`);
    const td = { family: "bc", containerDefinitions: [QUICK_STOP_SERVER] };
    expect((await n2.api("POST", "/v1/task-definitions", td)).status).toBe(201);
    const run = await waitFor("StartTask through node 2", async () => {
      const r = await n2.api("POST", `/v1/clusters/${C}/tasks/start`, { taskDefinition: "bc", containerInstances: [agent!.instanceId] });
      return r.status === 201 ? r : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    const taskId = run.body.tasks[0].taskId as string;
    const status = (c: ControlProcess) => async () => (await c.api("GET", `/v1/clusters/${C}/tasks/${taskId}`)).body.task?.lastStatus as string | undefined;
    await waitFor("the task RUNNING", async () => (await status(n2)()) === "RUNNING", { timeoutMs: 60_000 });

    await n1.kill9();
    await waitFor("the agent to connect to node 2", () => agent!.agent.output().includes(`connected to ${n2.mqttUrl}`), { timeoutMs: 20_000 });
    // Kept: the same one container still runs.
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toHaveLength(1);
    expect(await status(n2)()).toBe("RUNNING");
    // A new desired set reaches it through node 2, and its report of the stop is applied.
    expect((await n2.api("POST", `/v1/clusters/${C}/tasks/${taskId}/stop`, {})).status).toBe(200);
    await waitFor("the task STOPPED", async () => (await status(n2)()) === "STOPPED", { timeoutMs: 30_000 });
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toHaveLength(0);
    // Exactly once: no report of the agent (one process, one bootId) was applied by both
    // processes, and each process applied some (node 1 before the kill, node 2 after).
    const seqs = (c: ControlProcess) => logEntriesOf(c.output()).filter((e) => e.msg === "report applied" && e.instanceId === agent!.instanceId).map((e) => e.seq as number);
    const [s1, s2] = [seqs(n1), seqs(n2)];
    expect(s1.length).toBeGreaterThan(0);
    expect(s2.length).toBeGreaterThan(0);
    expect(new Set([...s1, ...s2]).size).toBe(s1.length + s2.length);
    expect(Math.max(...s1)).toBeLessThan(Math.min(...s2));
  }, 120_000);
});
