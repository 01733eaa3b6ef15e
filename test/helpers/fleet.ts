import { startAgentProcess, type AgentProcess } from "./agent-process.ts";
import type { TestControl } from "./control.ts";
import { waitFor } from "./wait.ts";

/** Creates a cluster (if needed) and an activation for it. */
export async function activation(tc: TestControl, cluster: string, registrationLimit = 5) {
  await tc.api("POST", "/v1/clusters", { clusterName: cluster });
  const res = await tc.api("POST", `/v1/clusters/${cluster}/activations`, { registrationLimit });
  if (res.status !== 201) throw new Error(`activation failed: ${JSON.stringify(res.body)}`);
  return res.body as { activationId: string; activationCode: string };
}

/** Starts a real agent and waits until its instance is registered and connected. */
export async function startRegisteredAgent(tc: TestControl, cluster: string, args: string[] = []): Promise<{ agent: AgentProcess; instanceId: string }> {
  const act = await activation(tc, cluster);
  const before = new Set(((await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[]).map((i) => i.containerInstanceId));
  const agent = startAgentProcess({ control: tc.control.mqttUrl, activation: act, args: ["--image-pull-behavior", "prefer-cached", "--pause-image", "flotilla/busybox:test", ...args] });
  const instanceId = await waitFor(`agent in ${cluster} to register and connect`, async () => {
    const list = (await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[];
    return list.find((i) => !before.has(i.containerInstanceId) && i.agentConnected)?.containerInstanceId as string | undefined;
  });
  return { agent, instanceId };
}

export async function waitTaskStatus(tc: TestControl, cluster: string, taskId: string, status: string, timeoutMs = 20_000) {
  return waitFor(`task ${taskId} to reach ${status}`, async () => {
    const t = (await tc.api("GET", `/v1/clusters/${cluster}/tasks/${taskId}`)).body.task;
    return t?.lastStatus === status ? t : undefined;
  }, { timeoutMs });
}
