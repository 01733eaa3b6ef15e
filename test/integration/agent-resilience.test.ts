import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The agent keeps its promises when things go away: the agent process itself (kill -9), and the
 * control service with its embedded broker (stopped, then started again on the same ports and
 * database file). Real control, real agent processes, real Docker.
 */

// Runs until /tmp/go appears in the container, then exits 7: the test decides when it "crashes".
const TRIGGERED = `trap "exit 0" TERM; while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 7`;
const SLEEPER = `trap "exit 0" TERM; sleep 600 & wait`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Env {
  tc: TestControl;
  dir: string;
  ports: { brokerPort: number; httpPort: number };
  restart(): Promise<TestControl>;
}

/** A control service whose database outlives it, so it can come back as the same service. */
async function persistentControl(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-resilience-"));
  const first = await startTestControl({ dir });
  const ports = { brokerPort: Number(new URL(first.control.mqttUrl).port), httpPort: Number(new URL(first.control.httpUrl).port) };
  const env: Env = {
    tc: first,
    dir,
    ports,
    async restart() {
      env.tc = await startTestControl({ dir, ...ports });
      return env.tc;
    },
  };
  cleanups.push(async () => {
    await env.tc.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return env;
}

async function defineAndRun(tc: TestControl, cluster: string, family: string, script: string): Promise<string> {
  await tc.api("POST", "/v1/task-definitions", {
    family,
    containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", script] }],
  });
  const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: family });
  expect(run.body.failures).toEqual([]);
  return run.body.tasks[0].taskId;
}

function introspectionPort(agent: AgentProcess): Promise<number> {
  return waitFor("the introspection API", () => {
    const m = [...agent.output().matchAll(/introspection API on http:\/\/127\.0\.0\.1:(\d+)/g)].at(-1);
    return m ? Number(m[1]) : undefined;
  });
}

async function localTask(agent: AgentProcess, taskId: string): Promise<any> {
  const port = await introspectionPort(agent);
  const res = await fetch(`http://127.0.0.1:${port}/v1/tasks?taskarn=${taskId}`);
  return res.status === 200 ? res.json() : undefined;
}

function trackAgent(a: { agent: AgentProcess; instanceId: string }, holder: { agent: AgentProcess }) {
  cleanups.push(async () => {
    await holder.agent.stop();
    await removeInstanceContainers(a.instanceId);
    rmSync(holder.agent.dataDir, { recursive: true, force: true });
  });
}

async function instance(tc: TestControl, cluster: string, id: string) {
  return (await tc.api("GET", `/v1/clusters/${cluster}/container-instances/${id}`)).body.containerInstance;
}

describe("agent resilience", () => {
  test("kill -9 of the agent while a container exits: after restart the exit code is reported, nothing restarted", async () => {
    const env = await persistentControl();
    const CLUSTER = "kill9";
    const reg = await startRegisteredAgent(env.tc, CLUSTER);
    const holder = { agent: reg.agent };
    trackAgent(reg, holder);
    const keep = await defineAndRun(env.tc, CLUSTER, "keep", SLEEPER);
    const crash = await defineAndRun(env.tc, CLUSTER, "crash", TRIGGERED);
    const keepBefore = await waitTaskStatus(env.tc, CLUSTER, keep, "RUNNING");
    const crashBefore = await waitTaskStatus(env.tc, CLUSTER, crash, "RUNNING");

    await holder.agent.kill9();
    await docker("exec", crashBefore.containers[0].runtimeId, "touch", "/tmp/go");
    await waitFor("the container to exit", async () => (await docker("inspect", "--format", "{{.State.Status}}", crashBefore.containers[0].runtimeId)) === "exited");

    holder.agent = startAgentProcess({ control: env.tc.control.mqttUrl, dataDir: holder.agent.dataDir, args: ["--image-pull-behavior", "prefer-cached"] });
    const stopped = await waitTaskStatus(env.tc, CLUSTER, crash, "STOPPED");
    expect(stopped).toMatchObject({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" });
    expect(stopped.containers[0]).toMatchObject({ exitCode: 7, runtimeId: crashBefore.containers[0].runtimeId });
    const keepAfter = (await env.tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${keep}`)).body.task;
    expect(keepAfter.lastStatus).toBe("RUNNING");
    expect(await runningWithLabel(`flotilla.task-id=${keep}`)).toEqual([keepBefore.containers[0].runtimeId]);
  }, 60_000);

  test("control service down: containers keep running, an exit meanwhile is reported after it returns, no duplicates", async () => {
    const env = await persistentControl();
    const CLUSTER = "outage";
    const reg = await startRegisteredAgent(env.tc, CLUSTER);
    const holder = { agent: reg.agent };
    trackAgent(reg, holder);
    const keep = await defineAndRun(env.tc, CLUSTER, "keep", SLEEPER);
    const crash = await defineAndRun(env.tc, CLUSTER, "crash", TRIGGERED);
    const keepBefore = await waitTaskStatus(env.tc, CLUSTER, keep, "RUNNING");
    const crashBefore = await waitTaskStatus(env.tc, CLUSTER, crash, "RUNNING");

    await env.tc.stop();
    await waitFor("the agent to notice the outage", async () => (await fetch(`http://127.0.0.1:${await introspectionPort(holder.agent)}/v1/metadata`).then((r) => r.json() as any)).Connected === false);
    await docker("exec", crashBefore.containers[0].runtimeId, "touch", "/tmp/go");
    // Offline, the agent still applies the essential-container rule on its own.
    const local = await waitFor("the agent to record the exit offline", async () => {
      const t = await localTask(holder.agent, crash);
      return t?.KnownStatus === "STOPPED" ? t : undefined;
    });
    expect(local.Containers[0].ExitCode).toBe(7);
    expect(await runningWithLabel(`flotilla.task-id=${keep}`)).toEqual([keepBefore.containers[0].runtimeId]);

    const tc = await env.restart();
    await waitFor("the agent to reconnect", async () => (await instance(tc, CLUSTER, reg.instanceId))?.agentConnected === true);
    const stopped = await waitTaskStatus(tc, CLUSTER, crash, "STOPPED");
    expect(stopped).toMatchObject({ stopCode: "EssentialContainerExited", desiredStatus: "STOPPED" });
    expect(stopped.containers[0]).toMatchObject({ exitCode: 7, lastStatus: "STOPPED" });
    const keepAfter = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${keep}`)).body.task;
    expect(keepAfter).toMatchObject({ lastStatus: "RUNNING", desiredStatus: "RUNNING" });
    expect(keepAfter.containers[0].runtimeId).toBe(keepBefore.containers[0].runtimeId);

    // Reconciled without duplicates: the same two tasks, the same two containers, one instance.
    const tasks = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks?desiredStatus=STOPPED`)).body.tasks as any[];
    const running = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[];
    expect(running.map((t) => t.taskId)).toEqual([keep]);
    expect(tasks.map((t) => t.taskId)).toEqual([crash]);
    expect((await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${reg.instanceId}`)).split("\n")).toHaveLength(2);
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances).toHaveLength(1);
    // The outage is said once, not once per reconnection attempt.
    expect(holder.agent.output().match(/disconnected from/g)).toHaveLength(1);
    expect((holder.agent.output().match(/link error: connect ECONNREFUSED/g) ?? []).length).toBeLessThanOrEqual(1);
    // The stopped task's reservation was released when its exit arrived.
    const ci = await instance(tc, CLUSTER, reg.instanceId);
    expect(ci.runningTasksCount).toBe(1);
  }, 60_000);

  test("an agent started while the control service is down runs what it ran and converges when it returns", async () => {
    const env = await persistentControl();
    const CLUSTER = "coldstart";
    const reg = await startRegisteredAgent(env.tc, CLUSTER);
    const holder = { agent: reg.agent };
    trackAgent(reg, holder);
    const keep = await defineAndRun(env.tc, CLUSTER, "keep", SLEEPER);
    const drop = await defineAndRun(env.tc, CLUSTER, "drop", SLEEPER);
    const keepBefore = await waitTaskStatus(env.tc, CLUSTER, keep, "RUNNING");
    await waitTaskStatus(env.tc, CLUSTER, drop, "RUNNING");

    // The agent goes away; meanwhile the operator stops a task; then the control goes away too.
    await holder.agent.stop();
    expect((await env.tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${drop}/stop`, { reason: "operator changed their mind" })).status).toBe(200);
    await env.tc.stop();

    holder.agent = startAgentProcess({ control: `mqtt://127.0.0.1:${env.ports.brokerPort}`, dataDir: holder.agent.dataDir, args: ["--image-pull-behavior", "prefer-cached"] });
    const meta = await waitFor("the offline agent's introspection API", async () =>
      fetch(`http://127.0.0.1:${await introspectionPort(holder.agent)}/v1/metadata`).then((r) => r.json()),
    );
    expect(meta).toMatchObject({ Connected: false, Cluster: CLUSTER, ContainerInstanceId: reg.instanceId });
    // Silence is never an instruction: both tasks keep running while nobody can be asked.
    expect((await localTask(holder.agent, keep)).KnownStatus).toBe("RUNNING");
    expect((await localTask(holder.agent, drop)).KnownStatus).toBe("RUNNING");
    expect(await runningWithLabel(`flotilla.task-id=${keep}`)).toEqual([keepBefore.containers[0].runtimeId]);

    const tc = await env.restart();
    const stopped = await waitTaskStatus(tc, CLUSTER, drop, "STOPPED");
    expect(stopped).toMatchObject({ stoppedReason: "operator changed their mind", stopCode: "UserInitiated" });
    expect(await runningWithLabel(`flotilla.task-id=${drop}`)).toEqual([]);
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${keep}`)).body.task.lastStatus).toBe("RUNNING");
    expect(await runningWithLabel(`flotilla.task-id=${keep}`)).toEqual([keepBefore.containers[0].runtimeId]);
    expect((await localTask(holder.agent, drop)).KnownStatus).toBe("STOPPED");
  }, 60_000);
});

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
