import { afterAll, beforeAll } from "bun:test";
import { startAgentProcess, type AgentProcess } from "./agent-process.ts";
import { startTestControl, type TestControl, type TestControlOptions } from "./control.ts";
import { assertEarlierFilesCleanedUp, currentTestFile, leftBehindBy, releaseFileResources, trackInstance } from "./leftovers.ts";
import { waitFor } from "./wait.ts";

/** Creates a cluster (if needed) and an activation for it. */
export async function activation(tc: TestControl, cluster: string, registrationLimit = 5) {
  await tc.api("POST", "/v1/clusters", { clusterName: cluster });
  const res = await tc.api("POST", `/v1/clusters/${cluster}/activations`, { registrationLimit });
  if (res.status !== 201) throw new Error(`activation failed: ${JSON.stringify(res.body)}`);
  return res.body as { activationId: string; activationCode: string };
}

/**
 * Starts a real agent and waits until its instance is registered and connected. Its namespace
 * holders run the agent's built-in pause image (no --pause-image), as on a user's host.
 */
export async function startRegisteredAgent(tc: TestControl, cluster: string, args: string[] = [], process: { command?: string[]; env?: Record<string, string> } = {}): Promise<{ agent: AgentProcess; instanceId: string }> {
  await assertEarlierFilesCleanedUp();
  const act = await activation(tc, cluster);
  const before = new Set(((await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[]).map((i) => i.containerInstanceId));
  const agent = startAgentProcess({ control: tc.control.mqttUrl, activation: act, args: ["--image-pull-behavior", "prefer-cached", ...args], command: process.command, env: process.env });
  const instanceId = await waitFor(`agent in ${cluster} to register and connect`, async () => {
    const list = (await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[];
    return list.find((i) => !before.has(i.containerInstanceId) && i.agentConnected)?.containerInstanceId as string | undefined;
  }).catch((e: Error) => {
    // Say what the agent said: a setup timeout alone does not tell a crash from a slow machine.
    const state = agent.proc.exitCode !== null || agent.proc.signalCode !== null ? `exited (${agent.proc.exitCode ?? agent.proc.signalCode})` : "still running";
    throw new Error(`${e.message}; the agent ${state}, its last output:\n${agent.output().slice(-2000)}`);
  });
  trackInstance(instanceId);
  return { agent, instanceId };
}

export async function waitTaskStatus(tc: TestControl, cluster: string, taskId: string, status: string, timeoutMs = 20_000) {
  return waitFor(`task ${taskId} to reach ${status}`, async () => {
    const t = (await tc.api("GET", `/v1/clusters/${cluster}/tasks/${taskId}`)).body.task;
    return t?.lastStatus === status ? t : undefined;
  }, { timeoutMs });
}

export interface SingleAgentCluster {
  tc: TestControl;
  agent: AgentProcess;
  instanceId: string;
}

export interface SingleAgentClusterOptions {
  /** Agent flags; a function when they depend on something an earlier beforeAll made. */
  agentArgs?: string[] | (() => string[]);
  /** Options for startTestControl; a function likewise. */
  control?: TestControlOptions | (() => TestControlOptions);
  /** Called once the control service runs and the agent is registered (the file keeps its own variables). */
  ready?: (c: SingleAgentCluster) => void;
  setupTimeoutMs?: number;
}

/**
 * The usual integration-test setup: one control service and one registered agent for the whole
 * file (beforeAll), and a teardown (afterAll) that stops every agent and control service the file
 * started — also ones a test put in place of the first — and removes its instances' containers,
 * then fails if anything is still there. Register it at the top of the file; beforeAll hooks
 * registered before it (a registry the agent's flags name) run first.
 */
export function singleAgentCluster(cluster: string, opts: SingleAgentClusterOptions = {}): SingleAgentCluster {
  const file = currentTestFile();
  const holder = {} as SingleAgentCluster;
  beforeAll(async () => {
    const controlOpts = typeof opts.control === "function" ? opts.control() : opts.control;
    holder.tc = await startTestControl(controlOpts);
    const args = typeof opts.agentArgs === "function" ? opts.agentArgs() : opts.agentArgs;
    Object.assign(holder, await startRegisteredAgent(holder.tc, cluster, args));
    opts.ready?.(holder);
  }, opts.setupTimeoutMs ?? 60_000);
  afterAll(async () => {
    await releaseFileResources(file);
    const left = await leftBehindBy(file);
    if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
  }, 60_000);
  return holder;
}
