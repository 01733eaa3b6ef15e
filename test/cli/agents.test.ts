import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createActivation } from "../../control/ops/activations.ts";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { applyReports } from "../../control/ops/reports.ts";
import type { HostFacts } from "../../shared/messages.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest } from "../helpers/release-keys.ts";
import { waitFor } from "../helpers/wait.ts";
import { cli } from "./run-cli.ts";

/**
 * `flotilla agents releases|upgrade|upgrades` against a real control; the instance's agent is a
 * stand-in that answers its upgrade command through the report path (applyReports).
 */
const C = "cli-agents";
const key = releaseKeyPair();
const work = mkdtempSync(join(tmpdir(), "flotilla-cli-agents-"));
let tc: TestControl;
let env: Record<string, string>;
let instanceId: string;
const facts = (agentVersion: string): HostFacts => ({
  hostname: "h1",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64" },
  versionInfo: { agentVersion, dockerVersion: "t" },
});

beforeAll(async () => {
  tc = await startTestControl({ extra: { releases: { dir: join(work, "releases"), publicKeys: [key.publicKey], upgradeStepMs: 100 } } });
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: C };
  await tc.api("POST", "/v1/clusters", { clusterName: C });
  const act = await createActivation(tc.control.ctx, C, {});
  const reg = await registerContainerInstance(tc.control.ctx, act.activationId, act.activationCode, facts("1.0.0"));
  if (!reg.ok) throw new Error(reg.reason);
  instanceId = reg.instance.id;
  await applyPresence(tc.control.ctx, instanceId, { connected: true, epoch: 1 });
  const bytes = new TextEncoder().encode("agent 1.1.0");
  const sha = sha256Hex(bytes);
  const res = await fetch(`${tc.control.httpUrl}/v1/agent-releases`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    body: releaseForm({ version: "1.1.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, key.privateKey), bytes }),
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await tc.stop();
  rmSync(work, { recursive: true, force: true });
});

test("agents releases lists the uploaded release", async () => {
  const r = await cli(["agents", "releases"], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/VERSION\s+ARCHITECTURE\s+SHA256/);
  expect(r.stdout).toMatch(/1\.1\.0\s+x86_64/);
});

test("agents upgrade follows the upgrade to the end, printing progress", async () => {
  const running = cli(["agents", "upgrade", "--version", "1.1.0", "--interval", "100"], env);
  await waitFor("the upgrade command to go out", async () => (await tc.api("GET", `/v1/clusters/${C}/container-instances/${instanceId}`)).body.containerInstance.agentUpdateStatus === "PENDING", { timeoutMs: 15_000 });
  // The agent re-executed on the new version: its first report says so.
  await applyReports(tc.control.ctx, [{ instanceId, report: { instanceId, bootId: "new", seq: 1, generation: 0, sentAt: Date.now(), tasks: [], facts: facts("1.1.0"), agentUpdate: { status: "UPDATED", version: "1.1.0" } } }]);
  const r = await running;
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("agent upgrade to 1.1.0: IN_PROGRESS");
  expect(r.stderr).toContain("agent upgrade to 1.1.0: SUCCESSFUL | updated 1, failed 0, waiting 0");
  expect(r.stdout).toContain("1 instance(s) on 1.1.0");
  const described = await cli(["instances", "describe", instanceId], env);
  expect(described.stdout).toMatch(/Agent update: +UPDATED \(1\.1\.0\)/);
  const list = await cli(["agents", "upgrades"], env);
  expect(list.stdout).toMatch(/1\.1\.0\s+SUCCESSFUL\s+1\s+0\s+0/);
});

test("agents upgrade to an unknown version fails naming the field", async () => {
  const r = await cli(["agents", "upgrade", "--version", "9.9.9"], env);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("version");
  expect(r.stderr).toContain("no agent release 9.9.9");
});
