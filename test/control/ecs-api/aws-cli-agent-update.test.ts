import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../../control/ops/agent-release-store.ts";
import { applyPresence, registerContainerInstance } from "../../../control/ops/instances.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { AgentRequest } from "../../../shared/messages.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest } from "../../helpers/release-keys.ts";
import { awsCli } from "./aws-cli.ts";

/**
 * `aws ecs update-container-agent` and `aws ecs describe-container-instances` (the real aws CLI,
 * botocore's shapes and error parsing) against the front door served on 127.0.0.1. The upgrade
 * command the agent would get is recorded; the agent's answer goes through the report path.
 */
const C = "cli-upd";
const key = releaseKeyPair();
let t: TestOps;
let dir: string;
let id: string;
let server: ReturnType<typeof Bun.serve>;
let cli: ReturnType<typeof awsCli>;
const sent: AgentRequest[] = [];
const facts = (agentVersion: string) => ({
  hostname: "edge",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", "ecs.os-type": "linux" },
  versionInfo: { agentVersion, dockerVersion: "t" },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-cli-upd-"));
  t = await createTestOps(undefined, {
    agentReleases: agentReleaseStore({ dir, keys: [key.publicKey] }),
    agentRequests: () => async (_id, request) => void sent.push(request),
    // The CLI's signed requests are admitted as an admin (SigV4 itself is tested in sigv4.test.ts).
    sigV4: async () => ({ tokenId: "cli", name: "cli", role: "admin" }),
  });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, {})).body;
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("1.0.0"));
  if (!reg.ok) throw new Error(reg.reason);
  id = reg.instance.id;
  await applyPresence(t.ctx, id, { connected: true, epoch: 1 });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: t.app.fetch });
  cli = awsCli(() => server.port!);
});
afterAll(() => {
  server?.stop(true);
  cli?.close();
  t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const update = () => cli.aws("ecs", "update-container-agent", "--cluster", C, "--container-instance", id);
const described = async () => {
  const r = await cli.aws("ecs", "describe-container-instances", "--cluster", C, "--container-instances", id);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).containerInstances[0];
};

describe("aws ecs update-container-agent", () => {
  test("no newer release: the CLI names NoUpdateAvailableException and exits non-zero", async () => {
    const r = await update();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("NoUpdateAvailableException");
    expect(sent).toEqual([]);
  });

  test("with a release: PENDING in the answer and in describe-container-instances; a second call is UpdateInProgressException; UPDATED is shown", async () => {
    const bytes = new TextEncoder().encode("agent 1.1.0");
    const sha = sha256Hex(bytes);
    const up = await t.app.request("/v1/agent-releases", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: releaseForm({ version: "1.1.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, key.privateKey), bytes }),
    });
    expect(up.status).toBe(201);

    const r = await update();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).containerInstance).toMatchObject({ containerInstanceArn: expect.stringContaining(id), agentUpdateStatus: "PENDING" });
    expect(sent).toMatchObject([{ kind: "upgrade", version: "1.1.0" }]);
    expect(await described()).toMatchObject({ agentUpdateStatus: "PENDING" });

    const again = await update();
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("UpdateInProgressException");

    await applyReports(t.ctx, [{ instanceId: id, report: { instanceId: id, bootId: "new", seq: 1, generation: 0, sentAt: Date.now(), tasks: [], agentUpdate: { status: "UPDATED", version: "1.1.0" }, facts: facts("1.1.0") } }]);
    expect(await described()).toMatchObject({ agentUpdateStatus: "UPDATED", versionInfo: { agentVersion: "1.1.0" } });
    const current = await update();
    expect(current.stderr).toContain("NoUpdateAvailableException");
    expect(sent).toHaveLength(1);
  }, 30_000);
});
