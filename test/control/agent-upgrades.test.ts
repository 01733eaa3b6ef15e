import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../control/ops/agent-release-store.ts";
import { advanceAgentUpgrades } from "../../control/ops/agent-upgrades.ts";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { applyReports } from "../../control/ops/reports.ts";
import type { AgentRequest, AgentUpdate, HostFacts } from "../../shared/messages.ts";
import { ControlMetrics } from "../../control/metrics/control-metrics.ts";
import { registerFleetGauges } from "../../control/metrics/fleet-gauges.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { Scrape } from "../helpers/prometheus.ts";
import { createTestOps, type TestOps } from "../helpers/ops.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest } from "../helpers/release-keys.ts";

/**
 * Rolling agent upgrades, batch by batch, with stand-in agents that answer through the report
 * path (applyReports) as the MQTT link does: the upgrade command each receives is recorded.
 */
const C = "fleet";
const key = releaseKeyPair();
let t: TestOps;
let dir: string;
let store: ReturnType<typeof agentReleaseStore>;
const sent: { instanceId: string; request: AgentRequest }[] = [];
const send = async (instanceId: string, request: AgentRequest) => void sent.push({ instanceId, request });
const ids: string[] = [];
const seq = new Map<string, number>();
let now = Date.now();

const facts = (version: string, site: string): HostFacts => ({
  hostname: "h",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", site },
  versionInfo: { agentVersion: version, dockerVersion: "t" },
});

/** A stand-in agent's report: its upgrade state, and its facts when it (re)started on a version. */
async function report(instanceId: string, agentUpdate: AgentUpdate, version?: string, site = "a") {
  const n = (seq.get(instanceId) ?? 0) + 1;
  seq.set(instanceId, n);
  await applyReports(t.ctx, [{ instanceId, report: { instanceId, bootId: `boot-${version ?? "old"}`, seq: n, generation: 0, sentAt: Date.now(), tasks: [], agentUpdate, ...(version ? { facts: facts(version, site) } : {}) } }]);
}

const step = () => advanceAgentUpgrades(t.ctx, store, send);
const upgrade = async (id: string) => (await t.request("GET", `/v1/clusters/${C}/agent-upgrades/${id}`)).body.agentUpgrade;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-upgrades-"));
  store = agentReleaseStore({ dir, keys: [key.publicKey] });
  t = await createTestOps({ now: () => now }, { agentReleases: store, agentRequests: () => send });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, { registrationLimit: 10 })).body;
  for (const site of ["a", "a", "a", "b"]) {
    const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("1.0.0", site));
    if (!reg.ok) throw new Error(reg.reason);
    ids.push(reg.instance.id);
    await applyPresence(t.ctx, reg.instance.id, { connected: true, epoch: 1 });
    // Upgrades go in registration order (ListContainerInstances'): one ms apart makes it this order.
    now += 1;
  }
  const bytes = new TextEncoder().encode("agent 1.1.0");
  const sha = sha256Hex(bytes);
  const res = await t.app.request("/v1/agent-releases", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    body: releaseForm({ version: "1.1.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, key.privateKey), bytes }),
  });
  expect(res.status).toBe(201);
});
afterAll(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("POST /v1/clusters/{c}/agent-upgrades", () => {
  test("an unknown version, a filter matching nothing, a bad filter and an unknown instance are 400s naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ version: "9.9.9", filter: "attribute:site == a" }, "version"],
      [{ version: "1.1.0", filter: "attribute:site == nowhere" }, "filter"],
      [{ version: "1.1.0", filter: "attribute:site ==" }, "filter"],
      [{ version: "1.1.0", batchSize: 0 }, "batchSize"],
    ];
    for (const [body, path] of cases) {
      const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, body);
      expect(res.status).toBe(400);
      expect(res.body.error.fields[0].path).toBe(path);
    }
    const unknown = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.1.0", instances: [ids[0], "nope"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields[0].path).toBe("instances[1]");
    expect(sent).toEqual([]);
  });

  test("batches go one after another: the next only once the last is UPDATED on the new version", async () => {
    const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.1.0", filter: "attribute:site == a", batchSize: 2 });
    expect(res.status).toBe(201);
    const id = res.body.agentUpgrade.id;
    const [a1, a2, a3] = ids as [string, string, string];
    await step();
    expect(sent.map((s) => s.instanceId)).toEqual([a1, a2]);
    expect(sent[0]!.request).toMatchObject({ kind: "upgrade", version: "1.1.0", url: expect.stringContaining("/v1/agent-releases/1.1.0/x86_64/binary?token=") });
    expect((await upgrade(id)).instances.map((i: any) => i.agentUpdateStatus)).toEqual(["PENDING", "PENDING", undefined]);

    // One of the batch is done, the other is still staging: nothing new goes out.
    await report(a1, { status: "UPDATED", version: "1.1.0" }, "1.1.0");
    await report(a2, { status: "STAGING", version: "1.1.0" });
    await step();
    expect(sent).toHaveLength(2);
    // UPDATED from an agent still on the old version (it said so before it restarted) is not done.
    await report(a2, { status: "UPDATED", version: "1.1.0" });
    await step();
    expect(sent).toHaveLength(2);
    await report(a2, { status: "UPDATED", version: "1.1.0" }, "1.1.0");
    await step();
    expect(sent.map((s) => s.instanceId)).toEqual([a1, a2, a3]);
    await report(a3, { status: "UPDATED", version: "1.1.0" }, "1.1.0");
    await step();
    const done = await upgrade(id);
    expect(done).toMatchObject({ status: "SUCCESSFUL", updatedCount: 3, failedCount: 0 });
    const inst = (await t.request("GET", `/v1/clusters/${C}/container-instances/${a3}`)).body.containerInstance;
    expect(inst).toMatchObject({ agentUpdateStatus: "UPDATED", versionInfo: { agentVersion: "1.1.0" } });
  });

  test("more failures than maxFailures stop the upgrade before the next batch", async () => {
    sent.length = 0;
    const bytes = new TextEncoder().encode("agent 1.2.0");
    const sha = sha256Hex(bytes);
    await t.app.request("/v1/agent-releases", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: releaseForm({ version: "1.2.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, key.privateKey), bytes }),
    });
    const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.2.0", instances: ids, batchSize: 1, maxFailures: 0 });
    const id = res.body.agentUpgrade.id;
    await step();
    expect(sent.map((s) => s.instanceId)).toEqual([ids[0]!]);
    await report(ids[0]!, { status: "FAILED", version: "1.2.0", reason: "signature does not verify with this agent's release public key" });
    await step();
    await step();
    const up = await upgrade(id);
    expect(up).toMatchObject({ status: "FAILED", failedCount: 1, waitingCount: 3 });
    expect(up.instances[0].reason).toContain("signature");
    expect(sent).toHaveLength(1);
  });
});

describe("upgrade metrics (/metrics' fleet gauges over the same database)", () => {
  test("agent versions, agentUpdateStatus counts and rolling upgrades by status follow what the upgrades above did", async () => {
    const m = new ControlMetrics({ processMetrics: false });
    registerFleetGauges(m, { db: t.ctx.db, commitQueueDepth: () => 0, isLeader: () => true, ha: false });
    const s = new Scrape((await m.text()).body);
    // The first upgrade took site a's three hosts to 1.1.0 (site b's stayed on 1.0.0); the second
    // failed on the first host and stopped there.
    expect(s.value("flotilla_agent_versions", { cluster: C, version: "1.1.0" })).toBe(3);
    expect(s.value("flotilla_agent_versions", { cluster: C, version: "1.0.0" })).toBe(1);
    expect(s.value("flotilla_agent_updates", { cluster: C, status: "FAILED" })).toBe(1);
    expect(s.value("flotilla_agent_updates", { cluster: C, status: "UPDATED" })).toBe(2);
    expect(s.value("flotilla_agent_upgrades", { cluster: C, status: "SUCCESSFUL" })).toBe(1);
    expect(s.value("flotilla_agent_upgrades", { cluster: C, status: "FAILED" })).toBe(1);
  });
});
