import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../../control/ops/agent-release-store.ts";
import { applyPresence, registerContainerInstance } from "../../../control/ops/instances.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { AgentRequest, AgentUpdate, HostFacts } from "../../../shared/messages.ts";
import { arn } from "../../../shared/arn.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { releaseKeyPair, uploadTestRelease } from "../../helpers/release-keys.ts";
import { call, refusal } from "./call.ts";

/**
 * UpdateContainerAgent through the AWS JSON front door, over the operation the REST route uses:
 * the upgrade command goes out on the agent link (recorded here), and a stand-in agent answers
 * through the report path (applyReports) as the MQTT link does.
 */
const C = "ecs-upd";
const key = releaseKeyPair();
let t: TestOps;
let dir: string;
let id: string;
const sent: { instanceId: string; request: AgentRequest }[] = [];
const send = async (instanceId: string, request: AgentRequest) => void sent.push({ instanceId, request });
let seq = 0;

const facts = (version: string): HostFacts => ({
  hostname: "edge-1",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", "ecs.os-type": "linux" },
  versionInfo: { agentVersion: version, dockerVersion: "t" },
});

async function report(instanceId: string, agentUpdate: AgentUpdate, version?: string) {
  seq++;
  await applyReports(t.ctx, [{ instanceId, report: { instanceId, bootId: `boot-${version ?? "old"}`, seq, generation: 0, sentAt: Date.now(), tasks: [], agentUpdate, ...(version ? { facts: facts(version) } : {}) } }]);
}

async function upload(version: string) {
  expect((await uploadTestRelease(t.app, TEST_TOKEN, key.privateKey, version)).status).toBe(201);
}

const describeOne = async (ref: string) => (await call(t.app, "DescribeContainerInstances", { cluster: C, containerInstances: [ref] })).containerInstances[0];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-ecs-upd-"));
  t = await createTestOps(undefined, { agentReleases: agentReleaseStore({ dir, keys: [key.publicKey] }), agentRequests: () => send });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, {})).body;
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("1.0.0"));
  if (!reg.ok) throw new Error(reg.reason);
  id = reg.instance.id;
  await applyPresence(t.ctx, id, { connected: true, epoch: 1 });
});
afterAll(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("UpdateContainerAgent", () => {
  test("no release newer than the running agent: NoUpdateAvailableException, nothing sent", async () => {
    const r = await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id });
    expect(r).toMatchObject({ status: 400, code: "NoUpdateAvailableException" });
    expect(sent).toEqual([]);
    // Never updated: no agentUpdateStatus, as ECS leaves it out.
    expect(await describeOne(id)).not.toHaveProperty("agentUpdateStatus");
  });

  test("goes to the newest release by version (1.10.0 over 1.9.0 uploaded later); the answer and DescribeContainerInstances say PENDING", async () => {
    await upload("1.10.0");
    await upload("1.9.0");
    const out = await call(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: arn.containerInstance(C, id) });
    expect(out.containerInstance).toMatchObject({ containerInstanceArn: arn.containerInstance(C, id), agentUpdateStatus: "PENDING" });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ instanceId: id, request: { kind: "upgrade", version: "1.10.0", url: expect.stringContaining("/v1/agent-releases/1.10.0/x86_64/binary?token=") } });
    expect(await describeOne(id)).toMatchObject({ agentUpdateStatus: "PENDING" });
  });

  test("while the update is not UPDATED or FAILED a second one is UpdateInProgressException (the REST route says the same, 409)", async () => {
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id })).code).toBe("UpdateInProgressException");
    await report(id, { status: "STAGING", version: "1.10.0" });
    expect(await describeOne(id)).toMatchObject({ agentUpdateStatus: "STAGING" });
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id })).code).toBe("UpdateInProgressException");
    const rest = await t.request("POST", `/v1/clusters/${C}/container-instances/${id}/update-agent`, {});
    expect(rest.status).toBe(409);
    expect(rest.body.error.code).toBe("UpdateInProgressException");
    expect(sent).toHaveLength(1);
  });

  test("once UPDATED on the newest version: NoUpdateAvailableException; DescribeContainerInstances shows UPDATED", async () => {
    await report(id, { status: "UPDATED", version: "1.10.0" }, "1.10.0");
    expect(await describeOne(id)).toMatchObject({ agentUpdateStatus: "UPDATED", versionInfo: { agentVersion: "1.10.0" } });
    const r = await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id });
    expect(r.code).toBe("NoUpdateAvailableException");
    expect(r.message).toContain("1.10.0");
    // The REST route, asked for the version already running, refuses the same way.
    const rest = await t.request("POST", `/v1/clusters/${C}/container-instances/${id}/update-agent`, { version: "1.10.0" });
    expect(rest.body.error.code).toBe("NoUpdateAvailableException");
    expect(sent).toHaveLength(1);
  });

  test("after a FAILED update another may start (REST, a named older release)", async () => {
    const rest = await t.request("POST", `/v1/clusters/${C}/container-instances/${id}/update-agent`, { version: "1.9.0" });
    expect(rest.status).toBe(200);
    await report(id, { status: "FAILED", version: "1.9.0", reason: "no" });
    expect(await describeOne(id)).toMatchObject({ agentUpdateStatus: "FAILED" });
    await upload("1.11.0");
    expect((await call(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: id })).containerInstance.agentUpdateStatus).toBe("PENDING");
    expect(sent.map((s) => s.request.kind === "upgrade" && s.request.version)).toEqual(["1.10.0", "1.9.0", "1.11.0"]);
  });

  test("an agent whose version is not comparable (a development build): MissingVersionException", async () => {
    const dev = await addInstance(t, C); // reports agentVersion "test"
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: dev })).code).toBe("MissingVersionException");
  });

  test("bad input and unknown instances are refused with ECS's names", async () => {
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C })).paths).toEqual(["containerInstance"]);
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: C, containerInstance: "nope" })).code).toBe("InvalidParameterException");
    expect((await refusal(t.app, "UpdateContainerAgent", { cluster: "ghost", containerInstance: id })).code).toBe("ClusterNotFoundException");
  });
});
