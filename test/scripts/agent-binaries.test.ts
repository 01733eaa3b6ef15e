import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { removeInstanceContainers } from "../helpers/docker.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { buildAgentInto, missingTools, ROOT, run } from "./support.ts";

/**
 * The single-file binaries from scripts/build-agent, run for real: x64 natively, arm64 under
 * Debian's qemu-user-static (packages qemu-user-static and libc6-arm64-cross). Each registers
 * with a control service and runs a container in the host's Docker engine.
 */
let tc: TestControl;
const procs: Subprocess[] = [];
const instances: string[] = [];

beforeAll(async () => {
  tc = await startTestControl();
});
afterAll(async () => {
  for (const p of procs) {
    p.kill("SIGTERM");
    await p.exited;
  }
  for (const i of instances) await removeInstanceContainers(i);
  await tc.stop();
});

async function registerAndRun(arch: "x64" | "arm64") {
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
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
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
    containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 32, essential: true }],
  });
  const res = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: `bin-${arch}` });
  expect(res.status).toBe(201);
  const taskId = res.body.tasks[0].taskId;
  const task = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 60_000);
  expect(task.containerInstanceId).toBe(instanceId);
  await tc.api("POST", `/v1/clusters/${cluster}/tasks/${taskId}/stop`, {});
  await waitTaskStatus(tc, cluster, taskId, "STOPPED", 60_000);
}

describe("compiled agent binaries", () => {
  test("linux-x64 registers and runs a task", async () => {
    await registerAndRun("x64");
  }, 120_000);

  test("linux-arm64 under qemu-user-static registers and runs a task in the host's Docker", async () => {
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
