import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBinary, ENTRY } from "../../scripts/build/compile.ts";
import { readUpgradeMarker } from "../../agent/upgrade/upgrade-marker.ts";
import { startTestControl, TEST_TOKEN, type TestControl, type TestControlOptions } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest, writePublicKey } from "../helpers/release-keys.ts";
import { waitFor } from "../helpers/wait.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";

/**
 * A new binary that cannot reach the control within its upgrade deadline rolls back by itself:
 * the control goes away the moment the download is served (the relay in front of it, which the
 * control names as its --public-url, stops it), so the new agent starts, never connects, puts the
 * old binary back after --upgrade-deadline and re-executes it; when the control returns, the old
 * version reports the upgrade FAILED. Real compiled binaries, real Docker, the task untouched.
 */
const CLUSTER = "agent-upgrade-rollback";
const OLD = "0.1.0-rollback.1";
const NEW = "0.1.0-rollback.2";
const ARCH = process.arch === "arm64" ? "arm64" : "x86_64";

const work = mkdtempSync(join(tmpdir(), "flotilla-rollback-"));
const releaseKey = releaseKeyPair();
const binaries = { old: join(work, "build-old"), new: join(work, "build-new") };
const agentBinary = join(work, "bin", "flotilla-agent");
const controlDir = join(work, "control");
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
let relay: ReturnType<typeof Bun.serve>;
let controlOptions: () => TestControlOptions;

beforeAll(async () => {
  await Promise.all([
    compileBinary({ entry: ENTRY.agent, outfile: binaries.old, agentSettings: true, version: OLD }),
    compileBinary({ entry: ENTRY.agent, outfile: binaries.new, agentSettings: true, version: NEW }),
  ]);
  mkdirSync(controlDir);
  // The relay serves the binary from the control, then stops the control before answering.
  relay = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const url = new URL(req.url);
      const upstream = await fetch(tc.control.httpUrl + url.pathname + url.search);
      const body = await upstream.arrayBuffer();
      if (upstream.ok) await tc.stop();
      return new Response(body, { status: upstream.status });
    },
  });
  let ports: { brokerPort: number; httpPort: number } | undefined;
  controlOptions = () => ({
    dir: controlDir,
    ...ports,
    extra: { releases: { dir: join(work, "releases"), publicKeys: [releaseKey.publicKey], publicUrl: `http://127.0.0.1:${relay.port}` } },
  });
  tc = await startTestControl(controlOptions());
  ports = { brokerPort: Number(new URL(tc.control.mqttUrl).port), httpPort: Number(new URL(tc.control.httpUrl).port) };
  mkdirSync(join(work, "bin"));
  copyFileSync(binaries.old, agentBinary);
  const keyFile = writePublicKey(work, releaseKey);
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER, ["--release-public-key", keyFile, "--upgrade-deadline", "3"], { command: [agentBinary] }));
}, 180_000);

afterAll(async () => {
  relay?.stop(true);
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  await tc?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("agent upgrade rollback", () => {
  test("a new binary that does not connect within the deadline puts the old one back; the old one reports FAILED", async () => {
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "rollback-sleeper",
      containerDefinitions: [{ ...QUICK_STOP_SERVER, name: "main", memory: 16 }],
    });
    expect(reg.status).toBe(201);
    const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "rollback-sleeper" });
    const taskId = run.body.tasks[0].taskId as string;
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 60_000);
    const [containerId] = (await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`)).split("\n").filter(Boolean);

    const bytes = new Uint8Array(readFileSync(binaries.new));
    const sha = sha256Hex(bytes);
    const up = await fetch(`${tc.control.httpUrl}/v1/agent-releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: releaseForm({ version: NEW, architecture: ARCH, sha256: sha, signature: signDigest(sha, releaseKey.privateKey), bytes }),
    });
    expect(up.status).toBe(201);
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}/update-agent`, { version: NEW });
    expect(res.status).toBe(200);

    // The control is gone once the download was served: the new binary runs its trial alone.
    const oldSha = sha256Hex(new Uint8Array(readFileSync(binaries.old)));
    const marker = await waitFor("the agent to roll back to the old binary", () => {
      const m = readUpgradeMarker(agent.dataDir);
      return m?.status === "FAILED" && sha256Hex(new Uint8Array(readFileSync(agentBinary))) === oldSha ? m : undefined;
    }, { timeoutMs: 60_000 });
    expect(marker.reason).toBe(`agent ${NEW} did not connect within 3s; rolled back to ${OLD}`);
    expect(agent.output()).toContain("re-executing the previous binary");
    expect(agent.proc.exitCode).toBeNull();

    tc = await startTestControl(controlOptions());
    const i = await waitFor("the old agent to reconnect and report the upgrade FAILED", async () => {
      const r = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
      return r?.agentConnected && r.agentUpdateStatus === "FAILED" ? r : undefined;
    }, { timeoutMs: 60_000 });
    expect(i.versionInfo.agentVersion).toBe(OLD);
    expect(i.agentUpdateVersion).toBe(NEW);
    expect(i.agentUpdateReason).toContain("did not connect within 3s");
    // Through all of it the task's container ran on, re-adopted twice.
    expect((await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`)).split("\n").filter(Boolean)).toEqual([containerId!]);
  }, 180_000);
});
