import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";
import { DockerRuntime } from "../../agent/runtime/docker.ts";
import { registryAuthFrom } from "../../agent/runtime/registry-auth.ts";
import { RuntimeError, type PullSummary } from "../../agent/runtime/types.ts";

/**
 * Private registry pulls with repositoryCredentials, against a real registry with htpasswd auth.
 * The agent resolves credentials from its --registry-credentials file by registry host.
 */
let tc: TestControl;
let registry: TestRegistry;
let image: string;
const agents: { agent: AgentProcess; instanceId: string }[] = [];
const dir = mkdtempSync(join(tmpdir(), "flotilla-regcreds-"));

async function removeLocal(ref: string) {
  await docker("rmi", "-f", ref).catch(() => undefined);
}

async function runPrivate(cluster: string): Promise<string> {
  await tc.api("POST", "/v1/task-definitions", {
    family: "private",
    containerDefinitions: [
      { name: "app", image, memory: 32, stopTimeout: 2, repositoryCredentials: { credentialsParameter: "registry/probe" } },
    ],
  });
  const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: "private" });
  expect(run.body.failures).toEqual([]);
  return run.body.tasks[0].taskId;
}

beforeAll(async () => {
  registry = await startTestRegistry();
  image = await registry.push("flotilla/busybox:test", "flotilla/probe:1");
  tc = await startTestControl();
  const good = join(dir, "good.json");
  const bad = join(dir, "bad.json");
  writeFileSync(good, JSON.stringify({ [registry.host]: { username: registry.username, password: registry.password } }));
  writeFileSync(bad, JSON.stringify({ [registry.host]: { username: registry.username, password: "wrong" } }));
  agents.push(await startRegisteredAgent(tc, "registry-good", ["--registry-credentials", good]));
  agents.push(await startRegisteredAgent(tc, "registry-bad", ["--registry-credentials", bad]));
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
  test("correct credentials: the image is pulled and the task runs", async () => {
    await removeLocal(image);
    const taskId = await runPrivate("registry-good");
    const t = await waitTaskStatus(tc, "registry-good", taskId, "RUNNING", 30_000);
    expect(t.containers[0].image).toBe(image);
    expect(await docker("inspect", "--format", "{{.Config.Image}}", t.containers[0].runtimeId)).toBe(image);
    await tc.api("POST", `/v1/clusters/registry-good/tasks/${taskId}/stop`, {});
    await waitTaskStatus(tc, "registry-good", taskId, "STOPPED");
  });

  test("the runtime pulls with the registry's credentials and reports progress", async () => {
    // An image with a layer this engine does not have, so the pull really downloads something.
    const local = `flotilla/probe-layer:${Date.now()}`;
    const build = Bun.spawn(["docker", "build", "-q", "-t", local, "-"], {
      stdin: new TextEncoder().encode("FROM flotilla/busybox:test\nRUN head -c 2000000 /dev/urandom > /blob\n"),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await build.exited).toBe(0);
    const layered = await registry.push(local, "flotilla/layered:1");
    await removeLocal(local);
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
});
