import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { builtInPauseImage, PAUSE_IMAGE_LABEL } from "../../agent/runtime/pause-image/pause-image.ts";
import { pauseArchOf } from "../../agent/runtime/pause-image/pause-program.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { copyImage, startSecondDockerd, type SecondDockerd } from "../helpers/second-dockerd.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { buildAgentInto, missingTools, ROOT, run } from "./support.ts";

/**
 * The single-file binaries from scripts/build-agent, run for real: x64 natively, arm64 under
 * Debian's qemu-user-static (packages qemu-user-static and libc6-arm64-cross). Each registers
 * with a control service and runs an awsvpc task: x64 on a second, empty Docker engine (so it
 * loads its built-in pause image there), arm64 in the host's engine.
 */
let tc: TestControl;
const procs: Subprocess[] = [];
const instances: string[] = [];

beforeAll(async () => {
  tc = await startTestControl();
});
async function stopAgents() {
  for (const p of procs.splice(0)) {
    p.kill("SIGTERM");
    await p.exited;
  }
}
afterAll(async () => {
  await stopAgents();
  for (const i of instances) await removeInstanceContainers(i);
  await tc.stop();
});

/**
 * `engine`: a second, empty Docker engine (DOCKER_HOST) instead of the host's, so the binary's own
 * pause image has to be loaded by it. The task is awsvpc, so its namespace holder runs that image.
 */
async function registerAndRun(arch: "x64" | "arm64", engine?: SecondDockerd) {
  const dist = await buildAgentInto(arch);
  const bin = join(dist, `flotilla-agent-linux-${arch}`);
  const cluster = `bin-${arch}`;
  const act = await activation(tc, cluster, 1);
  const agentArgs = [
    "--control", tc.control.mqttUrl,
    "--activation-id", act.activationId,
    "--activation-code", act.activationCode,
    "--data-dir", mkdtempSync(join(tmpdir(), `flotilla-bin-${arch}-`)),
    "--image-pull-behavior", "prefer-cached",
    "--introspection-port", "off",
  ];
  const cmd = arch === "arm64" ? ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", bin, ...agentArgs] : [bin, ...agentArgs];
  let out = "";
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...(engine && { DOCKER_HOST: engine.host }) } });
  procs.push(proc);
  for (const s of [proc.stdout, proc.stderr]) void (async () => { for await (const c of s) out += new TextDecoder().decode(c); })();

  const instanceId = await waitFor(`${arch} agent binary to register and connect`, async () => {
    if (proc.exitCode !== null) throw new Error(`agent exited ${proc.exitCode}: ${out}`);
    const list = (await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[];
    return list.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
  }, { timeoutMs: 60_000 });
  instances.push(instanceId);
  await tc.api("POST", "/v1/task-definitions", {
    family: `bin-${arch}`,
    networkMode: "awsvpc",
    containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 32, essential: true }],
  });
  const res = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: `bin-${arch}` });
  expect(res.status).toBe(201);
  const taskId = res.body.tasks[0].taskId;
  const task = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 60_000);
  expect(task.containerInstanceId).toBe(instanceId);
  // The holder runs the pause image the binary carries, for the engine's architecture.
  const cli = engine ? engine.docker : docker;
  const pause = builtInPauseImage(pauseArchOf(await cli("info", "--format", "{{.Architecture}}"))!);
  const holder = await cli("ps", "-q", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=~netns");
  expect(await cli("inspect", "--format", "{{.Config.Image}}", holder)).toBe(pause.reference);
  expect(await cli("image", "inspect", "--format", `{{index .Config.Labels "${PAUSE_IMAGE_LABEL}"}}`, pause.reference)).toBe(pause.programDigest);
  await tc.api("POST", `/v1/clusters/${cluster}/tasks/${taskId}/stop`, {});
  await waitTaskStatus(tc, cluster, taskId, "STOPPED", 60_000);
}

describe("compiled agent binaries", () => {
  test("linux-x64 registers and runs an awsvpc task on an engine that had only the task's image", async () => {
    const engine = await startSecondDockerd();
    try {
      await copyImage("flotilla/busybox:test", engine);
      await registerAndRun("x64", engine);
    } finally {
      await stopAgents();
      await engine.stop();
    }
  }, 240_000);

  test("linux-arm64 under qemu-user-static registers and runs an awsvpc task in the host's Docker", async () => {
    const missing = missingTools(["qemu-aarch64-static"]);
    if (missing.length || !(await Bun.file("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1").exists())) {
      throw new Error("needs Debian packages qemu-user-static and libc6-arm64-cross (apt-get install -y qemu-user-static libc6-arm64-cross)");
    }
    await registerAndRun("arm64");
  }, 180_000);

  test("the compiled CLI talks to the API", async () => {
    const out = mkdtempSync(join(tmpdir(), "flotilla-cli-bin-"));
    const b = await run(["bun", "build", "--compile", "--minify", join(ROOT, "control/cli/main.ts"), "--outfile", join(out, "flotilla")]);
    expect(b.code).toBe(0);
    const r = await run([join(out, "flotilla"), "clusters", "list", "-o", "json"], { env: { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CONFIG: "/nonexistent" } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).clusters.map((c: any) => c.clusterName)).toContain("bin-x64");
  }, 60_000);
});
