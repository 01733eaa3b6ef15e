import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../../control/ops/agent-release-store.ts";
import { AGENT_UPDATE_DEADLINE_MS, expireAgentUpdates } from "../../../control/ops/agent-updates.ts";
import { applyPresence, registerContainerInstance } from "../../../control/ops/instances.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { AgentRequest, HostFacts } from "../../../shared/messages.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";
import { releaseKeyPair, uploadTestRelease } from "../../helpers/release-keys.ts";
import { call, refusal } from "./call.ts";

/**
 * An update the agent never acknowledges (the command is not retained: an agent that drops off as
 * it is sent never hears of it) must not leave the instance PENDING for ever, refusing every later
 * update. The clock is the test's own, so ten minutes pass at once; the stand-in agent reports
 * through applyReports, the MQTT link's path.
 */
const C = "upd-expiry";
const key = releaseKeyPair();
let now = Date.UTC(2026, 11, 3, 10, 0, 0);
const clock = { now: () => now };
let t: TestOps;
let dir: string;
let id: string;
const sent: { instanceId: string; request: AgentRequest }[] = [];
const send = async (instanceId: string, request: AgentRequest) => void sent.push({ instanceId, request });

const facts: HostFacts = {
  hostname: "edge-1",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", "ecs.os-type": "linux" },
  versionInfo: { agentVersion: "1.0.0", dockerVersion: "t" },
};

async function upload(version: string) {
  expect((await uploadTestRelease(t.app, TEST_TOKEN, key.privateKey, version)).status).toBe(201);
}
const describeOne = async () => (await call(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [id] })).containerInstances[0];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-upd-expiry-"));
  t = await createTestOps(clock, { agentReleases: agentReleaseStore({ dir, keys: [key.publicKey] }), agentRequests: () => send });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, {})).body;
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts);
  if (!reg.ok) throw new Error(reg.reason);
  id = reg.instance.id;
  await applyPresence(t.ctx, id, { connected: true, epoch: 1 });
  await upload("1.1.0");
});
afterAll(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("an agent update that makes no progress", () => {
  test("stays PENDING within the deadline: the sweep leaves it and a second update is UpdateInProgressException", async () => {
    await call(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id });
    now += AGENT_UPDATE_DEADLINE_MS - 1000;
    expect(await expireAgentUpdates(t.ctx)).toEqual([]);
    expect(await describeOne()).toMatchObject({ agentUpdateStatus: "PENDING" });
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id })).code).toBe("UpdateInProgressException");
  });

  test("progress reported restarts the deadline (STAGING at minute 9.9 is not expired at minute 11)", async () => {
    await applyReports(t.ctx, [{ instanceId: id, report: { instanceId: id, bootId: "b1", seq: 1, generation: 0, sentAt: now, tasks: [], agentUpdate: { status: "STAGING", version: "1.1.0" } } }]);
    now += 2 * 60_000;
    expect(await expireAgentUpdates(t.ctx)).toEqual([]);
    expect(await describeOne()).toMatchObject({ agentUpdateStatus: "STAGING" });
  });

  test("past the deadline, a new update is accepted even before the sweep ran", async () => {
    now += AGENT_UPDATE_DEADLINE_MS;
    const out = await call(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id });
    expect(out.containerInstance.agentUpdateStatus).toBe("PENDING");
    expect(sent).toHaveLength(2);
  });

  test("the sweep marks an expired update FAILED with the reason, once; DescribeContainerInstances shows it", async () => {
    now += AGENT_UPDATE_DEADLINE_MS + 1;
    expect(await expireAgentUpdates(t.ctx)).toEqual([id]);
    expect(await expireAgentUpdates(t.ctx)).toEqual([]);
    const ci = await describeOne();
    expect(ci).toMatchObject({ agentUpdateStatus: "FAILED", agentUpdateVersion: "1.1.0" });
    expect(ci.agentUpdateReason).toContain("no progress reported within 10 minutes (last status PENDING)");
  });

  test("an agent that reports UPDATED after all still wins over the expiry", async () => {
    await applyReports(t.ctx, [
      { instanceId: id, report: { instanceId: id, bootId: "b2", seq: 1, generation: 0, sentAt: now, tasks: [], agentUpdate: { status: "UPDATED", version: "1.1.0" }, facts: { ...facts, versionInfo: { agentVersion: "1.1.0", dockerVersion: "t" } } } },
    ]);
    expect(await describeOne()).toMatchObject({ agentUpdateStatus: "UPDATED", versionInfo: { agentVersion: "1.1.0" } });
  });
});
