import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../control/ops/agent-release-store.ts";
import { advanceAgentUpgrades } from "../../control/ops/agent-upgrades.ts";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { applyReports } from "../../control/ops/reports.ts";
import type { AgentRequest, HostFacts } from "../../shared/messages.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { createTestOps, type TestOps } from "../helpers/ops.ts";
import { releaseKeyPair, uploadTestRelease } from "../helpers/release-keys.ts";

/**
 * Pacing of rolling agent upgrades on an injected clock: batch size as a percentage, a pause
 * between batches, and deployment windows holding hosts outside theirs (as they hold deployments).
 */
const C = "paced";
const key = releaseKeyPair();
let now = Date.parse("2023-11-14T22:00:00.000Z");
const OPENS_AT = "2023-11-14T22:13:30.000Z";
let t: TestOps;
let dir: string;
let store: ReturnType<typeof agentReleaseStore>;
const sent: string[] = [];
const send = async (instanceId: string, _r: AgentRequest) => void sent.push(instanceId);
const ids: string[] = [];
let seq = 0;

const facts = (version: string, site: string): HostFacts => ({
  hostname: "h",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", site },
  versionInfo: { agentVersion: version, dockerVersion: "t" },
});
const sites = ["a", "a", "a", "shop-12"];
/** The stand-in agent restarted on `version` and says so, through the report path. */
const updated = (i: number, version: string) =>
  applyReports(t.ctx, [{ instanceId: ids[i]!, report: { instanceId: ids[i]!, bootId: `b-${version}-${i}`, seq: ++seq, generation: 0, sentAt: now, tasks: [], facts: facts(version, sites[i]!), agentUpdate: { status: "UPDATED", version } } }]);
const step = () => advanceAgentUpgrades(t.ctx, store, send);
const view = async (id: string) => (await t.request("GET", `/v1/clusters/${C}/agent-upgrades/${id}`)).body.agentUpgrade;

async function release(version: string) {
  expect((await uploadTestRelease(t.app, TEST_TOKEN, key.privateKey, version)).status).toBe(201);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-paced-"));
  store = agentReleaseStore({ dir, keys: [key.publicKey] });
  t = await createTestOps({ now: () => now }, { agentReleases: store });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, { registrationLimit: 10 })).body;
  for (const site of sites) {
    const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("1.0.0", site));
    if (!reg.ok) throw new Error(reg.reason);
    ids.push(reg.instance.id);
    await applyPresence(t.ctx, reg.instance.id, { connected: true, epoch: 1 });
    // Upgrades go in registration order (ListContainerInstances'): one ms apart makes it this order.
    now += 1;
  }
  await release("1.1.0");
  await release("1.2.0");
});
afterAll(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rolling agent upgrade pacing", () => {
  test("batchPercent sizes batches; a host outside its deployment window waits for it, and says until when", async () => {
    const w = await t.request("POST", `/v1/clusters/${C}/deployment-windows`, { name: "shop-nights", schedule: "30 13 22 * * *", durationMinutes: 60, timeZone: "UTC", filter: "attribute:site == shop-12" });
    expect(w.status).toBe(201);
    const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.1.0", batchPercent: 50 });
    expect(res.body.agentUpgrade.batchSize).toBe(2);
    const id = res.body.agentUpgrade.id;
    await step();
    expect(sent).toEqual([ids[0]!, ids[1]!]);
    await updated(0, "1.1.0");
    await updated(1, "1.1.0");
    await step();
    // The next batch may hold two, but the shop's host is outside its window: only one goes.
    expect(sent).toEqual([ids[0]!, ids[1]!, ids[2]!]);
    expect((await view(id)).instances[3]).toEqual({ containerInstanceId: ids[3]!, waitingForWindowUntil: OPENS_AT });
    await updated(2, "1.1.0");
    await step();
    expect(sent).toHaveLength(3);
    expect((await view(id)).status).toBe("IN_PROGRESS");
    now = Date.parse(OPENS_AT) + 1000;
    await step();
    expect(sent).toEqual([ids[0]!, ids[1]!, ids[2]!, ids[3]!]);
    await updated(3, "1.1.0");
    await step();
    expect(await view(id)).toMatchObject({ status: "SUCCESSFUL", updatedCount: 4 });
    await t.request("DELETE", `/v1/clusters/${C}/deployment-windows/${w.body.deploymentWindow.windowId}`);
  });

  test("pauseSeconds: the next batch starts only that long after the last one finished", async () => {
    sent.length = 0;
    const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.2.0", filter: "attribute:site == a", batchSize: 2, pauseSeconds: 60 });
    expect(res.status).toBe(201);
    await step();
    expect(sent).toEqual([ids[0]!, ids[1]!]);
    await updated(0, "1.2.0");
    await updated(1, "1.2.0");
    await step();
    now += 59_000;
    await step();
    expect(sent).toHaveLength(2);
    now += 2_000;
    await step();
    expect(sent).toEqual([ids[0]!, ids[1]!, ids[2]!]);
  });

  test("batchSize and batchPercent together are a 400 naming batchPercent", async () => {
    const res = await t.request("POST", `/v1/clusters/${C}/agent-upgrades`, { version: "1.2.0", batchSize: 1, batchPercent: 10 });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("batchPercent");
  });
});
