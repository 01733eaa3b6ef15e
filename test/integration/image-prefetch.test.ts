import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";
import { describeService, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Image prefetch end to end: the API, the control's desired set, a real agent process pulling
 * from Debian's docker-registry (htpasswd auth, credentials from the agent's
 * --registry-credentials file) into the real Docker engine, progress back through its reports.
 * The agent runs with --max-concurrent-pulls 1, so two images are pulled one after the other.
 */
const C = "prefetch-it";
let tc: TestControl;
let registry: TestRegistry;
let agent: AgentProcess | undefined;
let instanceId: string;
const refs: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "flotilla-prefetch-"));

const removeLocal = (ref: string) => docker("rmi", "-f", ref).catch(() => undefined);
const inspect = (ref: string) => docker("image", "inspect", "--format", "{{.Id}}", ref).catch(() => null);

/** An image with a layer of its own (random bytes), so the pull really downloads it; not kept locally. */
async function pushLayered(name: string): Promise<string> {
  const local = `flotilla/prefetch-layer:${Date.now()}-${randomBytes(3).toString("hex")}`;
  const build = Bun.spawn(["docker", "build", "--no-cache", "-q", "-t", local, "-"], {
    stdin: new TextEncoder().encode("FROM flotilla/busybox:test\nRUN head -c 3000000 /dev/urandom > /blob\n"),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await build.exited).toBe(0);
  const ref = await registry.push(local, name);
  refs.push(ref);
  await removeLocal(local);
  return ref;
}

async function prefetch(body: unknown) {
  const res = await tc.api("POST", `/v1/clusters/${C}/image-prefetch`, body);
  expect(res.status).toBe(201);
  return res.body.imagePrefetch.id as string;
}

async function ended(id: string) {
  return waitFor(`prefetch ${id} to end`, async () => {
    const p = (await tc.api("GET", `/v1/clusters/${C}/image-prefetch/${id}`)).body.imagePrefetch;
    return p.status !== "IN_PROGRESS" ? p : undefined;
  }, { timeoutMs: 60_000 });
}

beforeAll(async () => {
  registry = await startTestRegistry();
  tc = await startTestControl();
  await tc.api("POST", "/v1/clusters", { clusterName: C });
  const creds = join(dir, "creds.json");
  writeFileSync(creds, JSON.stringify({ [registry.host]: { username: registry.username, password: registry.password } }));
  ({ agent, instanceId } = await startRegisteredAgent(tc, C, ["--registry-credentials", creds, "--max-concurrent-pulls", "1", "--attribute", "site=shop-1"]));
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  for (const ref of refs) await removeLocal(ref);
  await tc?.stop();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("image prefetch with a real agent, Docker and registry", () => {
  test("a task definition's image is pulled onto the host: the API shows DONE and docker image inspect finds it", async () => {
    const ref = await pushLayered(`flotilla/prefetch-one:${Date.now()}`);
    expect(await inspect(ref)).toBeNull();
    await tc.api("POST", "/v1/task-definitions", { family: "prefetched", containerDefinitions: [{ name: "app", image: ref, memory: 32 }] });
    const id = await prefetch({ taskDefinition: "prefetched", filter: "attribute:site == shop-1" });
    const p = await ended(id);
    expect(p.status).toBe("SUCCESSFUL");
    expect(p.instances).toHaveLength(1);
    expect(p.instances[0]).toMatchObject({ containerInstanceId: instanceId, status: "DONE", images: [{ image: ref, status: "DONE" }] });
    expect(await inspect(ref)).toStartWith("sha256:");
  }, 90_000);

  test("an image the registry does not have: FAILED with the registry's reason", async () => {
    const missing = `${registry.host}/flotilla/not-pushed:${Date.now()}`;
    const id = await prefetch({ images: [missing], instances: [instanceId] });
    const p = await ended(id);
    expect(p.status).toBe("FAILED");
    const img = p.instances[0].images[0];
    expect(img.status).toBe("FAILED");
    expect(img.reason).toStartWith(`CannotPullContainerError: pull image ${missing}: `);
    // What docker-registry answers for an unknown tag, passed on by Docker.
    expect(img.reason).toMatch(/manifest unknown|not found/);
  }, 60_000);

  test("--max-concurrent-pulls 1: two images are pulled one after the other, never overlapping", async () => {
    const a = await pushLayered(`flotilla/prefetch-a:${Date.now()}`);
    const b = await pushLayered(`flotilla/prefetch-b:${Date.now()}`);
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await prefetch({ images: [a, b], instances: [instanceId] });
    const p = await ended(id);
    expect(p.status).toBe("SUCCESSFUL");
    const [x, y] = [...p.instances[0].images].sort((m: any, n: any) => Date.parse(m.startedAt) - Date.parse(n.startedAt));
    expect(Date.parse(y.startedAt)).toBeGreaterThanOrEqual(Date.parse(x.finishedAt));
    // Docker's own word, apart from the agent's times: its "pull" event (sent when a pull is complete)
    // for the first image comes before the agent started the second.
    const events = await docker("events", "--since", String(since), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "type=image", "--filter", "event=pull", "--format", "{{.TimeNano}} {{.Actor.ID}}");
    const pulledAt = (ref: string) => events.split("\n").map((l) => l.split(" ")).find(([, actor]) => actor === ref)?.[0];
    const firstDone = pulledAt(x.image);
    expect(firstDone).toBeDefined();
    expect(pulledAt(y.image)).toBeDefined();
    expect(Number(BigInt(firstDone!) / 1_000_000n)).toBeLessThanOrEqual(Date.parse(y.startedAt));
    for (const ref of [a, b]) expect(await inspect(ref)).toStartWith("sha256:");
  }, 120_000);

  test("deploymentConfiguration.prefetch: the new revision's image is on the host before its task is created", async () => {
    const ref = await pushLayered(`flotilla/prefetch-svc:${Date.now()}`);
    const def = (image: string) => ({ family: "svc", containerDefinitions: [{ name: "app", image, command: ["sleep", "3600"], memory: 32, stopTimeout: 2 }] });
    expect((await tc.api("POST", "/v1/task-definitions", def("flotilla/busybox:test"))).status).toBe(201);
    expect((await tc.api("POST", "/v1/task-definitions", def(ref))).status).toBe(201);
    const created = await tc.api("POST", `/v1/clusters/${C}/services`, { serviceName: "svc", taskDefinition: "svc:1", desiredCount: 1, deploymentConfiguration: { prefetch: true } });
    expect(created.status).toBe(201);
    await waitServiceSteady(tc, C, "svc", 1, { revision: "svc:1", timeoutMs: 30_000 });
    expect((await tc.api("PATCH", `/v1/clusters/${C}/services/svc`, { taskDefinition: "svc:2" })).status).toBe(200);
    const steady = await waitServiceSteady(tc, C, "svc", 1, { revision: "svc:2", timeoutMs: 60_000 });
    const prefetchId = steady.deployments[0].imagePrefetchId;
    expect(prefetchId).toBeTruthy();
    const p = (await tc.api("GET", `/v1/clusters/${C}/image-prefetch/${prefetchId}`)).body.imagePrefetch;
    expect(p).toMatchObject({ status: "SUCCESSFUL", images: [ref], instances: [{ containerInstanceId: instanceId, status: "DONE" }] });
    const tasks = (await tc.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks.filter((t: any) => t.taskDefinitionArn.endsWith("svc:2"));
    expect(tasks).toHaveLength(1);
    expect(Date.parse(tasks[0].createdAt)).toBeGreaterThanOrEqual(Date.parse(p.instances[0].finishedAt));
    expect((await describeService(tc, C, "svc")).events.some((e: any) => e.message.includes(`(image prefetch ${prefetchId})`))).toBe(true);
    await tc.api("DELETE", `/v1/clusters/${C}/services/svc?force=true`);
  }, 120_000);

  test("flotilla.max-pull-bytes-per-second on the host: the agent pulls through its own capped registry client and records the repo digest", async () => {
    const ref = await pushLayered(`flotilla/prefetch-capped:${Date.now()}`);
    const put = await tc.api("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-pull-bytes-per-second", value: "4000000", targetId: instanceId }] });
    expect(put.status).toBe(200);
    try {
      const id = await prefetch({ images: [ref], instances: [instanceId] });
      const p = await ended(id);
      expect(p.status).toBe("SUCCESSFUL");
      expect(await inspect(ref)).toStartWith("sha256:");
      // The agent's record of its own pull: dockerd's load does not know the repo digest, the agent does.
      const records = JSON.parse(readFileSync(join(agent!.dataDir, "blobs", "images.json"), "utf8"));
      expect(records[ref].repoDigest).toMatch(/@sha256:[0-9a-f]{64}$/);
      expect(records[ref].blobs[0]).toBe(await inspect(ref));
    } finally {
      await tc.api("DELETE", `/v1/clusters/${C}/attributes`, { attributes: [{ name: "flotilla.max-pull-bytes-per-second", targetId: instanceId }] });
    }
  }, 120_000);
});
