import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyFacts, applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { AGENT_VERSION } from "../../shared/arn.ts";
import { agentVersionSkew } from "../../shared/agent-version-skew.ts";
import type { HostFacts } from "../../shared/messages.ts";
import { createTestOps, type TestOps } from "../helpers/ops.ts";

/** Version skew between agents and the control service (docs/agent-upgrades.md). */
const C = "skew";
const SKEW = "flotilla.agent-version-skew";
let t: TestOps;
let id: string;
const facts = (agentVersion: string): HostFacts => ({ hostname: "h", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion, dockerVersion: "t" } });
const attrs = async () => Object.fromEntries(((await t.request("GET", `/v1/clusters/${C}/container-instances/${id}`)).body.containerInstance.attributes as { name: string; value: string }[]).map((a) => [a.name, a.value]));

beforeAll(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, {})).body;
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("0.0.9"));
  if (!reg.ok) throw new Error(reg.reason);
  id = reg.instance.id;
  await applyPresence(t.ctx, id, { connected: true, epoch: 1 });
  const td = await t.request("POST", "/v1/task-definitions", { family: "app", containerDefinitions: [{ name: "main", image: "busybox", memory: 16 }] });
  expect(td.status).toBe(201);
});
afterAll(() => t.close());

describe("agent version skew", () => {
  test("same minor or newer is current, one minor behind accepted, older too old; other versions are not judged", () => {
    expect(agentVersionSkew("1.4.2", "1.4.0")).toBe("current");
    expect(agentVersionSkew("1.5.0", "1.4.0")).toBe("current");
    expect(agentVersionSkew("2.0.0", "1.4.0")).toBe("current");
    expect(agentVersionSkew("1.3.9", "1.4.0")).toBe("one-minor-behind");
    expect(agentVersionSkew("1.2.0", "1.4.0")).toBe("too-old");
    expect(agentVersionSkew("0.9.0", "1.0.0")).toBe("too-old");
    expect(agentVersionSkew("1.4.0-rc.1", "1.4.0")).toBe("current");
    expect(agentVersionSkew("dev", "1.4.0")).toBe("unknown");
  });

  test("an agent one minor behind is registered with the attribute saying so and still gets tasks; upgraded, the attribute goes", async () => {
    expect(AGENT_VERSION.startsWith("0.1.")).toBe(true);
    expect((await attrs())[SKEW]).toBe("one-minor-behind");
    const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app" });
    expect(run.body.failures).toEqual([]);
    await applyFacts(t.ctx, id, facts(AGENT_VERSION));
    expect((await attrs())[SKEW]).toBeUndefined();
  });

  test("an agent too old gets no new tasks: RunTask fails with AGENT and a detail saying why", async () => {
    // No 0.x is two minors behind 0.1: the attribute the control sets for one is put directly.
    const put = await t.request("PUT", `/v1/clusters/${C}/attributes`, { attributes: [{ name: SKEW, value: "too-old", targetId: id }] });
    expect(put.status).toBe(200);
    const run = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "app" });
    expect(run.body.tasks).toEqual([]);
    expect(run.body.failures[0].reason).toBe("AGENT");
    expect(run.body.failures[0].detail).toContain("1 instance(s) run an agent more than one minor version behind the control service");
    // The agent's next facts put the control's own judgement back.
    await applyFacts(t.ctx, id, facts(AGENT_VERSION));
    expect((await attrs())[SKEW]).toBeUndefined();
  });
});
