import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBinary, ENTRY } from "../../scripts/build/compile.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest, writePublicKey } from "../helpers/release-keys.ts";
import { waitFor } from "../helpers/wait.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";

/**
 * A rolling upgrade of three real compiled agents in batches of one, each running a task:
 * every agent ends on the new version, UPDATED, with the same container it had.
 */
const CLUSTER = "agent-upgrade-rolling";
const OLD = "0.1.0-rolling.1";
const NEW = "0.1.0-rolling.2";
const ARCH = process.arch === "arm64" ? "arm64" : "x86_64";

const work = mkdtempSync(join(tmpdir(), "flotilla-rolling-"));
const releaseKey = releaseKeyPair();
const binaries = { old: join(work, "build-old"), new: join(work, "build-new") };
let tc: TestControl;
const agents: { agent: AgentProcess; instanceId: string }[] = [];

beforeAll(async () => {
  await Promise.all([
    compileBinary({ entry: ENTRY.agent, outfile: binaries.old, agentSettings: true, version: OLD }),
    compileBinary({ entry: ENTRY.agent, outfile: binaries.new, agentSettings: true, version: NEW }),
  ]);
  tc = await startTestControl({ extra: { releases: { dir: join(work, "releases"), publicKeys: [releaseKey.publicKey], upgradeStepMs: 200 } } });
  const keyFile = writePublicKey(work, releaseKey);
  for (let n = 0; n < 3; n++) {
    const bin = join(work, `host-${n}`, "flotilla-agent");
    mkdirSync(join(work, `host-${n}`));
    copyFileSync(binaries.old, bin);
    agents.push(await startRegisteredAgent(tc, CLUSTER, ["--release-public-key", keyFile], { command: [bin] }));
  }
}, 180_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  await tc?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("rolling agent upgrade", () => {
  test("three agents in batches of one, containers running: all UPDATED on the new version, same containers", async () => {
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "rolling-sleeper",
      containerDefinitions: [{ ...QUICK_STOP_SERVER, name: "main", memory: 16 }],
    });
    expect(reg.status).toBe(201);
    const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "rolling-sleeper", count: 3, placementConstraints: [{ type: "distinctInstance" }] });
    expect(run.body.failures).toEqual([]);
    const taskIds: string[] = run.body.tasks.map((t: any) => t.taskId);
    for (const id of taskIds) await waitTaskStatus(tc, CLUSTER, id, "RUNNING", 60_000);
    const byTask = async () => Promise.all(taskIds.map(async (id) => (await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${id}`)).trim()));
    const before = await byTask();

    const bytes = new Uint8Array(readFileSync(binaries.new));
    const sha = sha256Hex(bytes);
    const up = await fetch(`${tc.control.httpUrl}/v1/agent-releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: releaseForm({ version: NEW, architecture: ARCH, sha256: sha, signature: signDigest(sha, releaseKey.privateKey), bytes }),
    });
    expect(up.status).toBe(201);
    const start = await tc.api("POST", `/v1/clusters/${CLUSTER}/agent-upgrades`, { version: NEW, batchSize: 1 });
    expect(start.status).toBe(201);
    const id = start.body.agentUpgrade.id;
    const done = await waitFor("the rolling upgrade to finish", async () => {
      const u = (await tc.api("GET", `/v1/clusters/${CLUSTER}/agent-upgrades/${id}`)).body.agentUpgrade;
      if (u.status === "FAILED") throw new Error(`upgrade failed: ${JSON.stringify(u)}`);
      return u.status === "SUCCESSFUL" ? u : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    expect(done.updatedCount).toBe(3);
    for (const { instanceId, agent } of agents) {
      const i = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
      expect(i).toMatchObject({ agentUpdateStatus: "UPDATED", agentConnected: true, versionInfo: { agentVersion: NEW } });
      expect(agent.proc.exitCode).toBeNull();
    }
    expect(await byTask()).toEqual(before);
    for (const t of taskIds) expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${t}`)).body.task.lastStatus).toBe("RUNNING");
  }, 180_000);
});
