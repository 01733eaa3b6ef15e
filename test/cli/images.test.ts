import { afterAll, beforeAll, expect, test } from "bun:test";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { createActivation } from "../../control/ops/activations.ts";
import { applyReports } from "../../control/ops/reports.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { waitFor } from "../helpers/wait.ts";
import { cli } from "./run-cli.ts";

/**
 * `flotilla images prefetch|prefetches` against a real control; the host's agent is a stand-in
 * that reports its progress through the report path (applyReports).
 */
const C = "cli-images";
let tc: TestControl;
let env: Record<string, string>;
let instanceId: string;
let seq = 0;

beforeAll(async () => {
  tc = await startTestControl();
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: C };
  await tc.api("POST", "/v1/clusters", { clusterName: C });
  const act = await createActivation(tc.control.ctx, C, {});
  const reg = await registerContainerInstance(tc.control.ctx, act.activationId, act.activationCode, {
    hostname: "h1",
    resources: { cpu: 1024, memory: 1024 },
    attributes: { site: "shop-12" },
    versionInfo: { agentVersion: "t", dockerVersion: "t" },
  });
  if (!reg.ok) throw new Error(reg.reason);
  instanceId = reg.instance.id;
  await applyPresence(tc.control.ctx, instanceId, { connected: true, epoch: 1 });
});
afterAll(async () => {
  await tc.stop();
});

async function whenStarted() {
  return waitFor("the prefetch to be created", async () => (await tc.api("GET", `/v1/clusters/${C}/image-prefetch`)).body.imagePrefetches.find((p: any) => p.status === "IN_PROGRESS"), { timeoutMs: 15_000 });
}
const report = (prefetchId: string, image: string, status: "DONE" | "FAILED", reason?: string) =>
  applyReports(tc.control.ctx, [{ instanceId, report: { instanceId, bootId: "b", seq: ++seq, generation: 0, sentAt: Date.now(), tasks: [], prefetches: [{ prefetchId, images: [{ image, status, ...(reason ? { reason } : {}) }] }] } }]);

test("images prefetch follows the prefetch to the end, printing progress", async () => {
  const running = cli(["images", "prefetch", "busybox:1.36", "--filter", "attribute:site == shop-12", "--interval", "100"], env);
  const p = await whenStarted();
  await report(p.id, "busybox:1.36", "DONE");
  const r = await running;
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`image prefetch ${p.id}: IN_PROGRESS | done 0, failed 0, pulling 0, pending 1`);
  expect(r.stderr).toContain(`image prefetch ${p.id}: SUCCESSFUL | done 1`);
  expect(r.stdout).toContain("1 image(s) on 1 instance(s)");
  const list = await cli(["images", "prefetches"], env);
  expect(list.stdout).toMatch(new RegExp(`${p.id}\\s+SUCCESSFUL\\s+busybox:1.36\\s+1\\s+0\\s+0`));
});

test("a failed host makes the command fail with the image's reason", async () => {
  const running = cli(["images", "prefetch", "registry.example/missing:1", "--instances", instanceId, "--interval", "100"], env);
  const p = await whenStarted();
  await report(p.id, "registry.example/missing:1", "FAILED", "CannotPullContainerError: manifest unknown");
  const r = await running;
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`${instanceId} registry.example/missing:1: CannotPullContainerError: manifest unknown`);
});

test("bad input: no images is a usage error; an unknown task definition fails naming the field", async () => {
  const none = await cli(["images", "prefetch"], env);
  expect(none.code).not.toBe(0);
  expect(none.stderr).toContain("give --task-definition or one or more IMAGE arguments");
  const unknown = await cli(["images", "prefetch", "--task-definition", "nope"], env);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain("taskDefinition");
});
