import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBinary, ENTRY } from "../../scripts/build/compile.ts";
import { previousPath } from "../../agent/upgrade/binary-swap.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest, writePublicKey } from "../helpers/release-keys.ts";
import { waitFor } from "../helpers/wait.ts";
import { ecsOk } from "../helpers/aws-json.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";

/**
 * Agent self-upgrade end to end: two real compiled agent binaries that differ only in version,
 * a real control service serving the release, a real agent process re-executing itself, real
 * Docker running a task through it all (docs/agent-upgrades.md).
 */
const CLUSTER = "agent-upgrade";
const OLD = "0.1.0-upgrade.1";
const NEW = "0.1.0-upgrade.2";
const ARCH = process.arch === "arm64" ? "arm64" : "x86_64";

const work = mkdtempSync(join(tmpdir(), "flotilla-upgrade-"));
const releaseKey = releaseKeyPair();
/** Trusted by the control but not by the agent: a key the agent was not installed with. */
const otherKey = releaseKeyPair();
const binaries = { old: join(work, "build-old"), new: join(work, "build-new") };
const agentBinary = join(work, "bin", "flotilla-agent");
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;

const instance = async () => (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;

async function upload(version: string, bytes: Uint8Array, signWith = releaseKey) {
  const sha = sha256Hex(bytes);
  const res = await fetch(`${tc.control.httpUrl}/v1/agent-releases`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    body: releaseForm({ version, architecture: ARCH, sha256: sha, signature: signDigest(sha, signWith.privateKey), bytes }),
  });
  expect(res.status).toBe(201);
}

const updateAgent = (version: string) => tc.api("POST", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}/update-agent`, { version });

beforeAll(async () => {
  await Promise.all([
    compileBinary({ entry: ENTRY.agent, outfile: binaries.old, agentSettings: true, version: OLD }),
    compileBinary({ entry: ENTRY.agent, outfile: binaries.new, agentSettings: true, version: NEW }),
  ]);
  const controlKeys = [releaseKey.publicKey, otherKey.publicKey];
  tc = await startTestControl({ extra: { releases: { dir: join(work, "releases"), publicKeys: controlKeys } } });
  mkdirSync(join(work, "bin"));
  copyFileSync(binaries.old, agentBinary);
  const keyFile = writePublicKey(work, releaseKey);
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER, ["--release-public-key", keyFile, "--upgrade-deadline", "120"], { command: [agentBinary] }));
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family: "upgrade-sleeper",
    containerDefinitions: [{ ...QUICK_STOP_SERVER, name: "main", memory: 16 }],
  });
  expect(reg.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  await tc?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("agent upgrade from the control service", () => {
  test("a running agent with a task upgrades to the new binary: same process, same container, new version, UPDATED", async () => {
    expect((await instance()).versionInfo.agentVersion).toBe(OLD);
    const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "upgrade-sleeper" });
    const taskId = run.body.tasks[0].taskId as string;
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 60_000);
    const ids = async () => (await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`)).split("\n").filter(Boolean);
    const [containerId] = await ids();
    expect(containerId).toBeDefined();
    const startedAt = (await docker("inspect", "--format", "{{.State.StartedAt}}", containerId!)).trim();

    await upload(NEW, new Uint8Array(readFileSync(binaries.new)));
    const res = await updateAgent(NEW);
    expect(res.status).toBe(200);
    expect(res.body.containerInstance.agentUpdateStatus).toBe("PENDING");

    const done = await waitFor("the agent to report UPDATED on the new version", async () => {
      const i = await instance();
      return i.agentUpdateStatus === "UPDATED" && i.versionInfo.agentVersion === NEW && i.agentConnected ? i : undefined;
    }, { timeoutMs: 60_000 });
    expect(done.agentUpdateVersion).toBe(NEW);
    // Re-executed in place: the supervisor's process never exited.
    expect(agent.proc.exitCode).toBeNull();
    expect(sha256Hex(new Uint8Array(readFileSync(agentBinary)))).toBe(sha256Hex(new Uint8Array(readFileSync(binaries.new))));
    expect(existsSync(previousPath(agentBinary))).toBe(true);
    // The task's container was re-adopted, never restarted.
    expect(await ids()).toEqual([containerId!]);
    expect((await docker("inspect", "--format", "{{.State.StartedAt}}", containerId!)).trim()).toBe(startedAt);
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task.lastStatus).toBe("RUNNING");
    // The AWS JSON door shows it as ECS does.
    const described = await ecsOk(tc.control.api, "DescribeContainerInstances", { cluster: CLUSTER, containerInstances: [instanceId] });
    expect(described.containerInstances[0].agentUpdateStatus).toBe("UPDATED");
  }, 120_000);

  test("a release signed with a key the agent does not trust is refused by the agent, which keeps running its binary", async () => {
    const current = sha256Hex(new Uint8Array(readFileSync(agentBinary)));
    await upload("0.1.0-untrusted", new Uint8Array(readFileSync(binaries.old)), otherKey);
    expect((await updateAgent("0.1.0-untrusted")).status).toBe(200);
    const failed = await waitFor("the agent to report FAILED", async () => {
      const i = await instance();
      return i.agentUpdateStatus === "FAILED" ? i : undefined;
    }, { timeoutMs: 30_000 });
    expect(failed.agentUpdateReason).toContain("signature");
    expect(failed.versionInfo.agentVersion).toBe(NEW);
    expect(failed.agentConnected).toBe(true);
    expect(sha256Hex(new Uint8Array(readFileSync(agentBinary)))).toBe(current);
    expect(agent.proc.exitCode).toBeNull();
  }, 60_000);

  test("a release whose stored bytes no longer match its SHA-256 is refused by the agent after download", async () => {
    const current = sha256Hex(new Uint8Array(readFileSync(agentBinary)));
    await upload("0.1.0-tampered", new Uint8Array(readFileSync(binaries.old)));
    // The file changed on the control's disk after the upload check (corruption, or an intruder).
    writeFileSync(join(work, "releases", `flotilla-agent-0.1.0-tampered-${ARCH}`), "#!/bin/sh\necho not an agent\n");
    expect((await updateAgent("0.1.0-tampered")).status).toBe(200);
    const failed = await waitFor("the agent to report FAILED", async () => {
      const i = await instance();
      return i.agentUpdateStatus === "FAILED" && i.agentUpdateVersion === "0.1.0-tampered" ? i : undefined;
    }, { timeoutMs: 30_000 });
    expect(failed.agentUpdateReason).toContain("SHA-256");
    expect(failed.versionInfo.agentVersion).toBe(NEW);
    expect(sha256Hex(new Uint8Array(readFileSync(agentBinary)))).toBe(current);
    expect(agent.proc.exitCode).toBeNull();
  }, 60_000);

  test("a signed release the host cannot execute is put back at once: the agent re-executes its own binary and reports FAILED", async () => {
    const current = sha256Hex(new Uint8Array(readFileSync(agentBinary)));
    await upload("0.1.0-not-executable", new TextEncoder().encode("these bytes are no program for this host"));
    expect((await updateAgent("0.1.0-not-executable")).status).toBe(200);
    const failed = await waitFor("the agent to come back and report FAILED", async () => {
      const i = await instance();
      return i.agentUpdateStatus === "FAILED" && i.agentUpdateVersion === "0.1.0-not-executable" && i.agentConnected ? i : undefined;
    }, { timeoutMs: 60_000 });
    expect(failed.agentUpdateReason).toContain("could not be executed");
    expect(failed.agentUpdateReason).toContain(`rolled back to ${NEW}`);
    expect(failed.versionInfo.agentVersion).toBe(NEW);
    expect(sha256Hex(new Uint8Array(readFileSync(agentBinary)))).toBe(current);
    expect(agent.proc.exitCode).toBeNull();
  }, 90_000);

  test("an unknown version is a 400 naming version", async () => {
    const res = await updateAgent("9.9.9");
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("version");
  });
});
