import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { startControlWith } from "../control/security/control-with.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";
import { waitFor } from "../helpers/wait.ts";
import { DockerRuntime } from "../../agent/runtime/docker.ts";
import { registryAuthFrom } from "../../agent/runtime/registry-auth.ts";
import { RuntimeError, type PullSummary } from "../../agent/runtime/types.ts";

/**
 * Private registry pulls against a real registry with htpasswd auth: credentials from a Flotilla
 * secret named by repositoryCredentials.credentialsParameter, else from the agent's
 * --registry-credentials file by registry host. Pull progress shows up as task events.
 */
let tc: TestControl & { logs: string[] };
let registry: TestRegistry;
let image: string;
const agents: { agent: AgentProcess; instanceId: string }[] = [];
const dir = mkdtempSync(join(tmpdir(), "flotilla-regcreds-"));

async function removeLocal(ref: string) {
  await docker("rmi", "-f", ref).catch(() => undefined);
}

/**
 * Pushes a uniquely tagged image with a layer this engine does not have (so pulling it really
 * downloads something) and removes it locally; returns its reference in the registry.
 */
/**
 * Pushes an image with a layer this engine does not have, so a pull really downloads something.
 * --no-cache: with the build cache, every build reuses the first one's layer, and once any image
 * (say, one a killed test run left behind) holds it, the pull downloads nothing and reports no
 * progress.
 */
async function pushLayered(name: string): Promise<string> {
  const local = `flotilla/probe-layer:${Date.now()}-${randomBytes(3).toString("hex")}`;
  const build = Bun.spawn(["docker", "build", "--no-cache", "-q", "-t", local, "-"], {
    stdin: new TextEncoder().encode("FROM flotilla/busybox:test\nRUN head -c 2000000 /dev/urandom > /blob\n"),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await build.exited).toBe(0);
  const ref = await registry.push(local, name);
  await removeLocal(local);
  return ref;
}

async function runPrivate(cluster: string, credentialsParameter?: string, ref = image): Promise<string> {
  const family = credentialsParameter ? `private-${credentialsParameter.replace(/\W/g, "-")}` : ref === image ? "private" : "private-layered";
  await tc.api("POST", "/v1/task-definitions", {
    family,
    containerDefinitions: [
      { name: "app", image: ref, memory: 32, stopTimeout: 2, ...(credentialsParameter ? { repositoryCredentials: { credentialsParameter } } : {}) },
    ],
  });
  const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: family });
  expect(run.body.failures).toEqual([]);
  return run.body.tasks[0].taskId;
}

beforeAll(async () => {
  registry = await startTestRegistry();
  image = await registry.push("flotilla/busybox:test", "flotilla/probe:1");
  tc = await startControlWith({ masterKey: randomBytes(32) });
  const good = join(dir, "good.json");
  const bad = join(dir, "bad.json");
  writeFileSync(good, JSON.stringify({ [registry.host]: { username: registry.username, password: registry.password } }));
  writeFileSync(bad, JSON.stringify({ [registry.host]: { username: registry.username, password: "wrong" } }));
  agents.push(await startRegisteredAgent(tc, "registry-good", ["--registry-credentials", good]));
  agents.push(await startRegisteredAgent(tc, "registry-bad", ["--registry-credentials", bad]));
  // No credentials file: only the task's secret can open the registry.
  agents.push(await startRegisteredAgent(tc, "registry-secret"));
}, 60_000);

afterAll(async () => {
  for (const a of agents) {
    await a.agent.stop();
    await removeInstanceContainers(a.instanceId);
  }
  if (image) await removeLocal(image);
  await tc?.stop();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("private registry pulls", () => {
  test("correct credentials from the agent's file: the image is pulled, the task runs, and GET task shows the pull as events", async () => {
    const layered = await pushLayered(`flotilla/events:${Date.now()}`);
    const taskId = await runPrivate("registry-good", undefined, layered);
    const t = await waitTaskStatus(tc, "registry-good", taskId, "RUNNING", 30_000);
    expect(t.containers[0].image).toBe(layered);
    expect(await docker("inspect", "--format", "{{.Config.Image}}", t.containers[0].runtimeId)).toBe(layered);
    const started = await waitFor("the start to show in the task's events", async () => {
      const task = (await tc.api("GET", `/v1/clusters/registry-good/tasks/${taskId}`)).body.task;
      return task.events.some((e: any) => e.message === "app: container started") ? task : undefined;
    });
    const messages: string[] = started.events.map((e: any) => e.message);
    expect(messages.some((m) => m.startsWith(`app: Pulling ${layered}: `) && / \d+\/\d+ layers, /.test(m))).toBe(true);
    expect(messages).toContain(`app: image ${layered} ready`);
    // Oldest first, each with an ISO time.
    expect(messages.indexOf(`app: image ${layered} ready`)).toBeLessThan(messages.indexOf("app: container started"));
    for (const e of started.events) expect(Date.parse(e.at)).toBeGreaterThan(0);
    await tc.api("POST", `/v1/clusters/registry-good/tasks/${taskId}/stop`, {});
    await waitTaskStatus(tc, "registry-good", taskId, "STOPPED");
    const stopped = await waitFor("the stop to show in the task's events", async () => {
      const task = (await tc.api("GET", `/v1/clusters/registry-good/tasks/${taskId}`)).body.task;
      return task.events.find((e: any) => /^app: container stopped \(exit code -?\d+\)$/.test(e.message));
    });
    expect(stopped).toBeDefined();
    await removeInstanceContainers(agents[0]!.instanceId);
    await removeLocal(layered);
  });

  test("the runtime pulls with the registry's credentials and reports progress", async () => {
    const layered = await pushLayered("flotilla/layered:1");
    const rt = new DockerRuntime({}, registryAuthFrom({ [registry.host]: { username: registry.username, password: registry.password } }));
    const progress: PullSummary[] = [];
    try {
      await rt.ensureImage(layered, "always", (s) => progress.push(s));
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[0]!.layers).toBeGreaterThan(0);
      expect(await docker("image", "inspect", "--format", "{{.Id}}", layered)).toStartWith("sha256:");
    } finally {
      await removeLocal(layered);
    }
    const anonymous = new DockerRuntime();
    await removeLocal(image);
    const e = await anonymous.ensureImage(image, "always").catch((x) => x);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.kind).toBe("CannotPullContainerError");
  });

  test("a wrong password: the task stops with CannotPullContainerError", async () => {
    await removeInstanceContainers(agents[0]!.instanceId);
    await removeLocal(image);
    const taskId = await runPrivate("registry-bad");
    const t = await waitTaskStatus(tc, "registry-bad", taskId, "STOPPED", 30_000);
    expect(t.stoppedReason).toStartWith("CannotPullContainerError");
    expect(t.stoppedReason).toContain(image);
    expect(t.stopCode).toBe("TaskFailedToStart");
  });

  test("credentialsParameter names a secret: the right password runs the task, a wrong one stops it", async () => {
    const good = await tc.api("POST", "/v1/secrets", { name: "registry/good", value: JSON.stringify({ username: registry.username, password: registry.password }) });
    expect(good.status).toBe(201);
    const wrongPassword = `wrong-${randomBytes(6).toString("hex")}`;
    expect((await tc.api("POST", "/v1/secrets", { name: "registry/wrong", value: JSON.stringify({ username: registry.username, password: wrongPassword }) })).status).toBe(201);

    await removeLocal(image);
    const ok = await runPrivate("registry-secret", good.body.secret.arn);
    const running = await waitTaskStatus(tc, "registry-secret", ok, "RUNNING", 30_000);
    expect(await docker("inspect", "--format", "{{.Config.Image}}", running.containers[0].runtimeId)).toBe(image);
    await tc.api("POST", `/v1/clusters/registry-secret/tasks/${ok}/stop`, {});
    await waitTaskStatus(tc, "registry-secret", ok, "STOPPED");

    await removeLocal(image);
    const bad = await runPrivate("registry-secret", "registry/wrong");
    const stopped = await waitTaskStatus(tc, "registry-secret", bad, "STOPPED", 30_000);
    expect(stopped.stoppedReason).toStartWith("CannotPullContainerError");
    expect(stopped.stopCode).toBe("TaskFailedToStart");

    // Never logged or echoed: not by the agent, the control, or the API.
    const agentOut = agents[2]!.agent.output();
    const seen = [agentOut, tc.logs.join("\n"), JSON.stringify(running), JSON.stringify(stopped)].join("\n");
    expect(seen).not.toContain(registry.password);
    expect(seen).not.toContain(wrongPassword);
  });

  test("RunTask with an unknown credentialsParameter is refused, naming it", async () => {
    await tc.api("POST", "/v1/task-definitions", {
      family: "private-unknown",
      containerDefinitions: [{ name: "app", image, memory: 32, repositoryCredentials: { credentialsParameter: "registry/nope" } }],
    });
    const run = await tc.api("POST", "/v1/clusters/registry-secret/tasks", { taskDefinition: "private-unknown" });
    expect(run.status).toBe(400);
    expect(run.body.error.message).toContain("registry/nope");
    expect(run.body.error.fields).toEqual([
      { path: "containerDefinitions[0].repositoryCredentials.credentialsParameter", message: 'secret "registry/nope" does not exist' },
    ]);
  });
});
