import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Image cleanup (ECS_IMAGE_CLEANUP_*) with short intervals: an image this agent pulled is removed
 * once no container uses it and no task holds it; images it did not pull, or that a running task
 * uses, are kept. Images are uniquely tagged and built with their own layer, so their ids are
 * shared with nothing else on the engine.
 */
const CLUSTER = "image-cleanup";
let tc: TestControl;
let registry: TestRegistry;
let agent: AgentProcess;
let instanceId: string;
const dir = mkdtempSync(join(tmpdir(), "flotilla-imgclean-"));
const made: string[] = [];

async function buildUnique(tag: string): Promise<string> {
  const build = Bun.spawn(["docker", "build", "-q", "-t", tag, "-"], {
    stdin: new TextEncoder().encode(`FROM flotilla/busybox:test\nRUN echo ${randomBytes(8).toString("hex")} > /id\n`),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await build.exited).toBe(0);
  made.push(tag);
  return tag;
}

/** A unique image in the registry only (not on the engine), so the agent has to pull it. */
async function pushUnique(name: string): Promise<string> {
  const local = await buildUnique(`flotilla/cleanup-src:${randomBytes(4).toString("hex")}`);
  const ref = await registry.push(local, name);
  await docker("rmi", local);
  made.push(ref);
  return ref;
}

const hasImage = async (ref: string) => (await docker("image", "inspect", "--format", "{{.Id}}", ref).catch(() => "")) !== "";

async function run(family: string, image: string): Promise<string> {
  const td = await tc.api("POST", "/v1/task-definitions", {
    family,
    containerDefinitions: [
      { name: "app", image, memory: 32, stopTimeout: 2, command: ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done'] },
    ],
  });
  expect(td.status).toBe(201);
  const r = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: family });
  expect(r.body.failures).toEqual([]);
  const taskId: string = r.body.tasks[0].taskId;
  await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);
  return taskId;
}

async function stopAndAwaitRemoval(taskId: string): Promise<void> {
  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
  await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
  await waitFor(`task ${taskId}'s containers to be cleaned up`, async () => (await docker("ps", "-aq", "--filter", `label=flotilla.task-id=${taskId}`)) === "");
}

const creds = join(dir, "creds.json");
beforeAll(async () => {
  registry = await startTestRegistry();
  writeFileSync(creds, JSON.stringify({ [registry.host]: { username: registry.username, password: registry.password } }));
});

singleAgentCluster(CLUSTER, {
  agentArgs: [
    "--registry-credentials", creds,
    "--task-cleanup-wait", "1",
    "--image-cleanup-interval", "1",
    "--image-minimum-age", "1",
    "--images-per-cycle", "5",
  ],
  ready: (c) => ({ tc, agent, instanceId } = c),
});

afterAll(async () => {
  for (const ref of made) await docker("rmi", "-f", ref).catch(() => undefined);
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("image cleanup", () => {
  test("removes only unused images this agent pulled", async () => {
    const kept = await pushUnique(`flotilla/cleanup-kept:${Date.now()}`);
    const pulled = await pushUnique(`flotilla/cleanup-pulled:${Date.now()}`);
    const notMine = await buildUnique(`flotilla/cleanup-not-mine:${Date.now()}`);
    expect(await hasImage(kept)).toBe(false);
    expect(await hasImage(pulled)).toBe(false);

    // Pulled first, so by the time the other pulled image goes it is older than the minimum age:
    // only the running task keeps it.
    await run("cleanup-kept", kept);
    const notMineTask = await run("cleanup-not-mine", notMine);
    const pulledTask = await run("cleanup-pulled", pulled);
    expect(await hasImage(pulled)).toBe(true);

    // The image the agent did not pull loses its container first, so the cycle that removes the
    // pulled image ran after it was unused too.
    await stopAndAwaitRemoval(notMineTask);
    await stopAndAwaitRemoval(pulledTask);
    await waitFor("the unused pulled image to be removed", async () => !(await hasImage(pulled)), { timeoutMs: 20_000 });

    expect(await hasImage(kept)).toBe(true);
    expect(await hasImage(notMine)).toBe(true);
    expect(await hasImage("flotilla/busybox:test")).toBe(true);
    // The agent logs the removal after Docker's answer, so its line may trail the image's going.
    await waitFor("the agent's line for the removal", () => agent.output().includes(`image cleanup: removed ${pulled}`), { timeoutMs: 10_000 });
    expect(agent.output()).not.toContain(`image cleanup: removed ${kept}`);
    // The agent's record of what it pulled: the removed image is forgotten, the kept one is not.
    // Saved by the coalescing state saver, so it may land just after the log line.
    const pulledOnDisk = () => Object.keys(JSON.parse(readFileSync(join(agent.dataDir, "state.json"), "utf8")).pulledImages);
    await waitFor("the removed image forgotten in state.json", () => pulledOnDisk().length === 1, { timeoutMs: 10_000 });
    expect(pulledOnDisk()).toEqual([kept]);
  }, 90_000);
});
