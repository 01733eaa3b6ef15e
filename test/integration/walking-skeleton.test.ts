import { describe, expect, test } from "bun:test";
import { resourceInteger, attributeMap } from "../../shared/instance-resources.ts";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker, runningWithLabel } from "../helpers/docker.ts";
import { activation, singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { WEBSERVER } from "../helpers/fixtures.ts";
import { logEntriesOf } from "../helpers/log-capture.ts";

/**
 * The first complete path through Flotilla with the real things: libSQL file, embedded broker,
 * Docker engine and a real agent process.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "skeleton";

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent, instanceId } = c) });

describe("walking skeleton", () => {
  test("the instance reports its resources and attributes", async () => {
    const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
    const cores = Number(await docker("info", "--format", "{{.NCPU}}"));
    expect(resourceInteger(ci.registeredResources, "CPU")).toBe(cores * 1024);
    expect(resourceInteger(ci.registeredResources, "MEMORY")).toBeGreaterThan(100);
    expect(attributeMap(ci.attributes)["ecs.os-type"]).toBe("linux");
    expect(["x86_64", "arm64"]).toContain(attributeMap(ci.attributes)["ecs.cpu-architecture"]!);
    expect(ci.versionInfo.dockerVersion).toBe(await docker("version", "--format", "{{.Server.Version}}"));
    expect(ci).toMatchObject({ status: "ACTIVE", agentConnected: true });
  });

  test("run the ECS webserver example: RUNNING with a labelled container, then stop: STOPPED and gone", async () => {
    expect((await tc.api("POST", "/v1/task-definitions", WEBSERVER)).status).toBe(201);
    const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "webserver", count: 1 });
    expect(run.body.failures).toEqual([]);
    const taskId: string = run.body.tasks[0].taskId;

    const running = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    expect(running.containers[0].lastStatus).toBe("RUNNING");
    // awsvpc: the task's network namespace is held by a hidden container named "~netns".
    const all = await runningWithLabel(`flotilla.task-id=${taskId}`);
    expect(all).toHaveLength(2);
    const ids = await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=web").then((o) => o.split("\n"));
    expect(ids).toEqual([running.containers[0].runtimeId]);
    const labels = JSON.parse(await docker("inspect", "--format", "{{json .Config.Labels}}", ids[0]!));
    expect(labels).toMatchObject({
      "flotilla.task-id": taskId,
      "flotilla.container-name": "web",
      "flotilla.cluster": CLUSTER,
      "flotilla.instance-id": instanceId,
      "flotilla.task-definition": "webserver:1",
    });
    // The container definition's limits reach Docker: memory "100" MiB hard, cpu "99" shares.
    expect(await docker("inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}", ids[0]!)).toBe(`${100 * 1024 * 1024} 99`);

    const stop = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
    expect(stop.body.task.desiredStatus).toBe("STOPPED");
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped).toMatchObject({ stoppedReason: "test is done", stopCode: "UserInitiated" });
    expect(stopped.containers[0].lastStatus).toBe("STOPPED");
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toEqual([]);
    const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
    expect(resourceInteger(ci.remainingResources, "CPU")).toBe(resourceInteger(ci.registeredResources, "CPU"));
  });

  test("an essential container that exits 3 stops the task with exitCode 3", async () => {
    await tc.api("POST", "/v1/task-definitions", {
      family: "exits",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, command: ["sh", "-c", "sleep 0.3; exit 3"] }],
    });
    const taskId: string = (await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "exits" })).body.tasks[0].taskId;
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: "Essential container in task exited", stopCode: "EssentialContainerExited" });
    expect(stopped.containers[0]).toMatchObject({ name: "main", lastStatus: "STOPPED", exitCode: 3 });
  });

  test("a task that fits nowhere gets a failures[] entry", async () => {
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "huge",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 4 * 1024 * 1024 }],
    });
    expect(reg.status).toBe(201);
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "huge" });
    expect(res.body.tasks).toEqual([]);
    expect(res.body.failures).toEqual([expect.objectContaining({ reason: "RESOURCE:MEMORY" })]);
  });

  test("restarting the agent (even kill -9) does not register again or restart its containers", async () => {
    await tc.api("POST", "/v1/task-definitions", {
      family: "sleeper",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }],
    });
    const taskId: string = (await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "sleeper" })).body.tasks[0].taskId;
    const before = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const startedAt = await docker("inspect", "--format", "{{.State.StartedAt}}", before.containers[0].runtimeId);
    // At the default --log-level (info): the task's status lines, none of the debug ones (a report
    // sent, each task event), which logs-secrets.test.ts sees at trace.
    await waitFor("the agent's RUNNING line", () => logEntriesOf(agent.output()).some((e) => e.msg === `task ${taskId} RUNNING` && e.taskId === taskId));
    expect(logEntriesOf(agent.output()).filter((e) => e.level === "debug" || e.level === "trace")).toEqual([]);

    await agent.kill9();
    await waitFor("the control service to see the agent gone", async () => {
      const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
      return ci.agentConnected === false;
    });
    // Losing the agent never stops a container.
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toEqual([before.containers[0].runtimeId]);

    agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: agent.dataDir, args: ["--image-pull-behavior", "prefer-cached", "--pause-image", "flotilla/busybox:test"] });
    await waitFor("the same instance to reconnect", async () => {
      const ci = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
      return ci.agentConnected === true;
    });
    expect(agent.output()).toContain(`using saved identity ${instanceId}`);
    expect(agent.output()).not.toContain("registered as");
    const instances = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances;
    expect(instances).toHaveLength(1);

    const after = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
    expect(after.lastStatus).toBe("RUNNING");
    expect(await runningWithLabel(`flotilla.task-id=${taskId}`)).toEqual([before.containers[0].runtimeId]);
    expect(await docker("inspect", "--format", "{{.State.StartedAt}}", before.containers[0].runtimeId)).toBe(startedAt);
  });
});

describe("agent registration failures", () => {
  test("a wrong activation code makes the agent exit non-zero with one clear line", async () => {
    const act = await activation(tc, CLUSTER);
    const bad = startAgentProcess({ control: tc.control.mqttUrl, activation: { ...act, activationCode: "wrong-code" } });
    const code = await bad.exited;
    expect(code).not.toBe(0);
    const lines = bad.output().trim().split("\n");
    expect(lines.at(-1)).toMatch(/^flotilla-agent: registration refused: .*activation/);
  });

  test("an activation used up by its registration limit is refused", async () => {
    const act = await activation(tc, "limited", 1);
    const first = startAgentProcess({ control: tc.control.mqttUrl, activation: act, args: ["--image-pull-behavior", "prefer-cached"] });
    try {
      await waitFor("the first agent to register", () => first.output().includes("registered as"));
      const second = startAgentProcess({ control: tc.control.mqttUrl, activation: act });
      expect(await second.exited).not.toBe(0);
      expect(second.output()).toContain("registration refused");
    } finally {
      await first.stop();
    }
  });

  test("a missing --control is a usage error with one readable line", async () => {
    const p = Bun.spawn(["bun", "agent/main.ts"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, FLOTILLA_CONTROL: "" } });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(2);
    expect(err.trim()).toBe("flotilla-agent: --control is required (e.g. mqtt://127.0.0.1:1883) (see --help)");
  });
});
