import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { builtInPauseImage, PAUSE_IMAGE_LABEL } from "../../agent/runtime/pause-image/pause-image.ts";
import { pauseArchOf } from "../../agent/runtime/pause-image/pause-program.ts";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeTaskCgroup } from "../helpers/docker.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { copyImage, startSecondDockerd, type SecondDockerd } from "../helpers/second-dockerd.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * An offline host: a Docker engine of its own with no image but the task's (no registry is
 * reachable from these machines). The quickstart's sample task definition (FARGATE, awsvpc) runs
 * there with an agent started with nothing but its defaults, pointed at that engine by DOCKER_HOST:
 * its namespace holder is the agent's built-in pause image, loaded into the engine, not pulled.
 */
const ROOT = join(import.meta.dir, "..", "..");
const CLUSTER = "fresh-engine";
let engine: SecondDockerd;
let tc: TestControl;
let agent: AgentProcess | undefined;
/** Tasks whose cgroups (task-level cpu and memory) are on this host, to remove at the end. */
const taskIds: string[] = [];
let firstInstance: string | undefined;

beforeAll(async () => {
  engine = await startSecondDockerd();
  tc = await startTestControl();
});

afterAll(async () => {
  await agent?.stop();
  await tc?.stop();
  await engine?.stop();
  // The tasks' containers went with the engine; their cgroups are the host's.
  for (const id of taskIds) removeTaskCgroup(id);
});

test("the sample awsvpc task definition reaches RUNNING on an engine that has only the task's image", async () => {
  await copyImage("nginx:latest", engine);
  expect((await engine.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).split("\n")).toEqual(["nginx:latest"]);

  const act = await activation(tc, CLUSTER, 1);
  agent = startAgentProcess({ control: tc.control.mqttUrl, activation: act, env: { DOCKER_HOST: engine.host } });
  const instanceId = await waitFor("the agent to register and connect", async () => {
    if (agent!.proc.exitCode !== null) throw new Error(`agent exited: ${agent!.output()}`);
    const list = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances as any[];
    return list.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
  }, { timeoutMs: 60_000 });

  const sample = JSON.parse(await Bun.file(join(ROOT, "scripts/lib/sample-task-definition.json")).text());
  expect(sample).toMatchObject({ networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"] });
  expect((await tc.api("POST", "/v1/task-definitions", sample)).status).toBe(201);
  const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: sample.family });
  expect(run.status).toBe(201);
  const taskId = run.body.tasks[0].taskId as string;
  taskIds.push(taskId);
  const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 120_000).catch((e: Error) => {
    throw new Error(`${e.message}\n--- agent ---\n${agent!.output().slice(-3000)}`);
  });
  expect(task.containerInstanceId).toBe(instanceId);
  firstInstance = instanceId;

  // The engine now has the built-in pause image too, and nothing else came in.
  const pause = builtInPauseImage(pauseArchOf(await engine.docker("info", "--format", "{{.Architecture}}"))!);
  expect((await engine.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).split("\n").sort()).toEqual(["nginx:latest", pause.reference].sort());
  expect(await engine.docker("image", "inspect", "--format", `{{index .Config.Labels "${PAUSE_IMAGE_LABEL}"}}`, pause.reference)).toBe(pause.programDigest);

  // The task is awsvpc: its container is in the holder's network namespace, on this engine's task network.
  const holder = await engine.docker("ps", "-q", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=~netns");
  expect(await engine.docker("inspect", "--format", "{{.Config.Image}} {{.HostConfig.NetworkMode}} {{json .Config.Entrypoint}}", holder)).toBe(`${pause.reference} flotilla ["/pause"]`);
  const web = task.containers.find((c: any) => c.name === "web");
  expect(await engine.docker("inspect", "--format", "{{.HostConfig.NetworkMode}}", web.runtimeId)).toMatch(/^container:/);
  const subnet = JSON.parse(await engine.docker("network", "inspect", "flotilla", "--format", "{{json .IPAM.Config}}"))[0].Subnet as string;
  expect(web.networkInterfaces[0].privateIpv4Address.startsWith(subnet.split(".").slice(0, 3).join("."))).toBe(true);
  // The host's own engine saw none of it.
  expect(await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${instanceId}`)).toBe("");

  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
  const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 60_000);
  expect(stopped.stoppedReason).toBe("test is done");
  // The holder exits 0 on SIGTERM (it is not killed after the stop timeout).
  expect(await engine.docker("inspect", "--format", "{{.State.ExitCode}}", holder)).toBe("0");
}, 300_000);

test("--pause-image names an image that is pulled instead: here, with no registry, the task cannot start", async () => {
  await agent?.stop();
  const act = await activation(tc, CLUSTER, 1);
  agent = startAgentProcess({ control: tc.control.mqttUrl, activation: act, args: ["--pause-image", "busybox:stable"], env: { DOCKER_HOST: engine.host } });
  const instanceId = await waitFor("the second agent to connect and the first to be seen gone", async () => {
    const list = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances as any[];
    if (list.some((i) => i.containerInstanceId === firstInstance && i.agentConnected)) return undefined;
    return list.find((i) => i.containerInstanceId !== firstInstance && i.agentConnected)?.containerInstanceId as string | undefined;
  }, { timeoutMs: 60_000 });
  const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "webserver" });
  expect(run.body.tasks[0].containerInstanceId).toBe(instanceId);
  taskIds.push(run.body.tasks[0].taskId);
  const stopped = await waitTaskStatus(tc, CLUSTER, run.body.tasks[0].taskId, "STOPPED", 120_000);
  expect(stopped.stoppedReason).toMatch(/^CannotPullContainerError: pull image busybox:stable/);
  expect(await engine.docker("image", "ls", "-q", "busybox")).toBe("");
}, 300_000);
