import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { prefetchActiveTaskPlatforms } from "../../../control/ops/task-definitions.ts";
import { ImagePlatforms } from "../../../control/scheduling/image-platforms.ts";
import { PLATFORM_UNCHECKED } from "../../../control/scheduling/task-platform.ts";
import { ServiceScheduler } from "../../../control/services/scheduler.ts";
import { docker } from "../../helpers/docker.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { startSilentRegistry, startTestRegistry, type SilentRegistry, type TestRegistry } from "../../helpers/registry.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * RunTask and the image registry: the platform of an image is looked up when its task definition
 * is registered, not when tasks start; RunTask uses the answer when there is one and otherwise
 * places without the architecture constraint after a short wait, saying so in failures[].
 */
const C = "platforms";
const opened: TestOps[] = [];
afterAll(() => {
  for (const t of opened) t.close();
});

async function cluster(archs: string[]) {
  const t = await createTestOps();
  opened.push(t);
  expect((await t.request("POST", "/v1/clusters", { clusterName: C })).status).toBe(201);
  const byArch = new Map<string, string>();
  for (const a of archs) byArch.set(a, await addInstance(t, C, undefined, { "ecs.cpu-architecture": a }));
  return { t, byArch };
}

const definition = (image: string) => ({ family: "app", containerDefinitions: [{ name: "app", image, memory: 32 }] });

describe("a registry that answers", () => {
  let registry: TestRegistry;
  let ref: string;
  let localArch: string;
  beforeAll(async () => {
    registry = await startTestRegistry();
    ref = await registry.push("flotilla/busybox:test", "run-task/busybox:1");
    localArch = await docker("image", "inspect", "--format", "{{.Architecture}}", "flotilla/busybox:test");
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
  });

  test("registering looks the image up; RunTask places only where it runs, asking the registry nothing", async () => {
    const { t, byArch } = await cluster(["x86_64", "arm64"]);
    let calls = 0;
    t.ctx.imagePlatforms = new ImagePlatforms({
      credentials: () => ({ username: registry.username, password: registry.password }),
      fetch: ((...a: Parameters<typeof fetch>) => (calls++, fetch(...a))) as typeof fetch,
      waitMs: 30_000, // the shared machine may be slow; the bound has its own test below
    });
    expect((await t.request("POST", "/v1/task-definitions", definition(ref))).status).toBe(201);
    await waitFor("the look-up started at registration", () => calls >= 2); // manifest, then config blob
    const asked = calls;
    const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app:1", count: 4 });
    expect(run.status).toBe(201);
    expect(run.body.failures).toEqual([]);
    const wanted = byArch.get(localArch === "arm64" ? "arm64" : "x86_64");
    expect(run.body.tasks.map((x: any) => x.containerInstanceArn.split("/").pop())).toEqual([wanted, wanted, wanted, wanted]);
    expect(calls).toBe(asked);
  });
});

describe("a registry that accepts connections and never answers", () => {
  let silent: SilentRegistry;
  beforeAll(() => {
    silent = startSilentRegistry();
  });
  afterAll(() => silent?.stop());

  test("RunTask returns without the registry's answer, places the task and says it could not check", async () => {
    const { t } = await cluster(["x86_64"]);
    const image = `${silent.host}/app:1`;
    expect((await t.request("POST", "/v1/task-definitions", definition(image))).status).toBe(201);
    // Asked ahead of need: the registry has the look-up before any RunTask.
    await waitFor("the look-up started at registration", () => silent.accepted() >= 1);
    const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app:1" });
    expect(run.status).toBe(201);
    expect(run.body.tasks).toHaveLength(1);
    expect(run.body.failures).toEqual([
      {
        arn: run.body.tasks[0].taskDefinitionArn,
        reason: PLATFORM_UNCHECKED,
        detail: `image ${image}: registry ${silent.host} did not answer within 200 ms (still asking); placed without a CPU architecture constraint`,
      },
    ]);
    // The registry still holds the look-up's request, unanswered: RunTask did not wait for it.
    expect(silent.open()).toBeGreaterThanOrEqual(1);
    expect(silent.accepted()).toBe(1);
  });

  test("a control starting over an existing database looks up its ACTIVE revisions' images", async () => {
    const { t } = await cluster(["x86_64"]);
    const image = `${silent.host}/restart:1`;
    expect((await t.request("POST", "/v1/task-definitions", definition(image))).status).toBe(201);
    await waitFor("the look-up at registration", () => silent.accepted() >= 1);
    const before = silent.accepted();
    // A new process has an empty cache (createControl calls this at start).
    t.ctx.imagePlatforms = new ImagePlatforms();
    await prefetchActiveTaskPlatforms(t.ctx);
    await waitFor("the look-up at start", () => silent.accepted() > before);
  });

  test("a service placing tasks of that image says so in its events", async () => {
    const { t } = await cluster(["x86_64"]);
    expect((await t.request("POST", "/v1/task-definitions", definition(`${silent.host}/svc:1`))).status).toBe(201);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "svc", taskDefinition: "app:1", desiredCount: 2 })).status).toBe(201);
    await new ServiceScheduler(t.ctx).runOnce();
    const svc = (await t.request("GET", `/v1/clusters/${C}/services/svc`)).body.service;
    expect(svc.pendingCount).toBe(2);
    const messages: string[] = svc.events.map((e: any) => e.message);
    expect(messages[0]).toBe(
      `(service svc) could not check the platform of an image: image ${silent.host}/svc:1: registry ${silent.host} did not answer within 200 ms (still asking); placed without a CPU architecture constraint.`,
    );
    expect(messages[1]).toStartWith("(service svc) has started 2 tasks");
  });
});
