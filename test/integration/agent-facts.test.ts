import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { hostAddresses } from "../../agent/host/addresses.ts";
import { containerInstances } from "../../control/db/schema.ts";
import { attributeMap, resourceInteger } from "../../shared/instance-resources.ts";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { logEntriesOf } from "../helpers/log-capture.ts";

/**
 * Host facts and attributes are refreshed, not frozen at registration: an agent restarted with other
 * --attribute flags reports them, the automatic ECS attributes stay, and removed custom ones go.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "facts";

// GPU support on, on a host without an NVIDIA driver (this machine): the agent registers no GPUs and says so once.
singleAgentCluster(CLUSTER, { agentArgs: ["--attribute", "site=lab", "--attribute", "tier=edge", "--enable-gpu-support"], ready: (c) => ({ tc, agent, instanceId } = c) });

/** The addresses the control stored from the agent's facts (service endpoints give the first). */
async function storedAddresses(): Promise<string[] | null | undefined> {
  return (await tc.db.db.select({ a: containerInstances.addresses }).from(containerInstances).where(eq(containerInstances.id, instanceId)).get())?.a;
}

async function instance() {
  return (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${instanceId}`)).body.containerInstance;
}

describe("host facts and attributes", () => {
  test("registration carries the automatic ECS attributes and the --attribute flags", async () => {
    const ci = await instance();
    const attrs = attributeMap(ci.attributes);
    expect(attrs).toMatchObject({ site: "lab", tier: "edge", "ecs.os-type": "linux" });
    // ECS's shapes: attributes as [{name, value}], resources as [{name, type, integerValue | stringSetValue}].
    expect(ci.attributes).toContainEqual({ name: "site", value: "lab" });
    expect(ci.registeredResources.map((r: any) => [r.name, r.type])).toEqual([["CPU", "INTEGER"], ["MEMORY", "INTEGER"], ["PORTS", "STRINGSET"], ["PORTS_UDP", "STRINGSET"]]);
    expect(ci.remainingResources.find((r: any) => r.name === "PORTS").stringSetValue).toEqual([]);
    expect(["x86_64", "arm64"]).toContain(attrs["ecs.cpu-architecture"]!);
    // The host's own non-loopback addresses, as the agent on it sees them.
    expect(await storedAddresses()).toEqual(hostAddresses());
  });

  test("with --enable-gpu-support on a host without NVIDIA GPUs the agent registers no GPU resource and logs it once", async () => {
    const ci = await instance();
    expect(ci.registeredResources.map((r: any) => r.name)).not.toContain("GPU");
    expect(ci.remainingResources.map((r: any) => r.name)).not.toContain("GPU");
    const lines = logEntriesOf(agent.output()).filter((e) => e.msg.includes("GPU"));
    expect(lines.map((e) => [e.level, e.component])).toEqual([["warn", "host"]]);
    expect(lines.map((e) => e.msg)).toEqual(["GPU support is enabled, but this host has no NVIDIA driver (no nvidia-smi, no /proc/driver/nvidia/gpus); registering no GPUs"]);
  });

  test("restarted with changed --attribute flags: the control service shows the new set, without re-registering", async () => {
    const before = await instance();
    await agent.stop();
    agent = startAgentProcess({
      control: tc.control.mqttUrl,
      dataDir: agent.dataDir,
      args: ["--image-pull-behavior", "prefer-cached", "--pause-image", "flotilla/busybox:test", "--attribute", "site=shop", "--attribute", "rack=3", "--advertise-address", "198.51.100.7"],
    });
    const after = await waitFor("the changed attributes to reach the control service", async () => {
      const ci = await instance();
      const attrs = attributeMap(ci.attributes);
      return ci.agentConnected && attrs.site === "shop" ? ci : undefined;
    });
    const attrs = attributeMap(after.attributes);
    expect(attrs.rack).toBe("3");
    // --advertise-address comes first in the reported addresses.
    expect(await storedAddresses()).toEqual(["198.51.100.7", ...hostAddresses().filter((a) => a !== "198.51.100.7")]);
    expect("tier" in attrs).toBe(false);
    expect(attrs["ecs.os-type"]).toBe("linux");
    // Same instance: the agent reconnected with its saved identity.
    expect(after.containerInstanceArn).toBe(before.containerInstanceArn);
    expect(after.registeredAt).toBe(before.registeredAt);
    const list = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances as any[];
    expect(list).toHaveLength(1);
    // Facts the host reports (cpu, memory, Docker version) are still there.
    expect(resourceInteger(after.registeredResources, "MEMORY")).toBeGreaterThan(0);
    expect(after.versionInfo.dockerVersion).toBeTruthy();
  });
});
