import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/** Instance health as ECS reports it, measured by real agents on this host. */
let tc: TestControl;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  tc = await startTestControl();
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await tc?.stop();
});

async function healthOf(cluster: string, id: string, status: string) {
  return waitFor(`instance ${id} health ${status}`, async () => {
    const ci = (await tc.api("GET", `/v1/clusters/${cluster}/container-instances/${id}`)).body.containerInstance;
    return ci.healthStatus.overallStatus === status ? ci : undefined;
  });
}

describe("instance health", () => {
  test("a healthy host: OK for every check, with light host metrics", async () => {
    const { agent, instanceId } = await startRegisteredAgent(tc, "healthy", ["--health-interval", "1"]);
    agents.push(agent);
    const ci = await healthOf("healthy", instanceId, "OK");
    expect(ci.healthStatus.details.map((d: any) => [d.type, d.status])).toEqual([
      ["CONTAINER_RUNTIME", "OK"],
      ["DISK_SPACE", "OK"],
      ["MEMORY_PRESSURE", "OK"],
    ]);
    expect(Date.parse(ci.healthStatus.details[0].lastStatusChange)).toBeGreaterThan(0);
    expect(ci.hostMetrics.memoryUtilization).toBeGreaterThan(0);
    expect(ci.hostMetrics.memoryUtilization).toBeLessThanOrEqual(100);
    expect(ci.hostMetrics.diskFreeBytes).toBeGreaterThan(0);
    expect(ci.hostMetrics.diskTotalBytes).toBeGreaterThanOrEqual(ci.hostMetrics.diskFreeBytes);
    // CPU use needs two samples: the second check (1 s later) brings it.
    const withCpu = await waitFor("a cpu reading", async () => {
      const c = (await tc.api("GET", `/v1/clusters/healthy/container-instances/${instanceId}`)).body.containerInstance;
      return c.hostMetrics.cpuUtilization !== undefined ? c : undefined;
    });
    expect(withCpu.hostMetrics.cpuUtilization).toBeGreaterThanOrEqual(0);
  });

  test("too little disk under Docker's data root: IMPAIRED, naming the check", async () => {
    const { agent, instanceId } = await startRegisteredAgent(tc, "lowdisk", ["--health-interval", "1", "--health-min-disk-free", "1P"]);
    agents.push(agent);
    // The reading that judged the disk: a first one taken while Docker was slow to answer is
    // IMPAIRED for another reason and does not count here.
    const ci = await waitFor("instance health IMPAIRED for DISK_SPACE", async () => {
      const c = (await tc.api("GET", `/v1/clusters/lowdisk/container-instances/${instanceId}`)).body.containerInstance;
      return c.healthStatus.details.find((d: any) => d.type === "DISK_SPACE")?.status === "IMPAIRED" ? c : undefined;
    });
    expect(ci.healthStatus.overallStatus).toBe("IMPAIRED");
    const disk = ci.healthStatus.details.find((d: any) => d.type === "DISK_SPACE");
    const root = await docker("info", "--format", "{{.DockerRootDir}}");
    expect(disk).toMatchObject({ status: "IMPAIRED" });
    expect(disk.reason).toContain(`free under ${root}`);
    expect(ci.healthStatus.details.find((d: any) => d.type === "CONTAINER_RUNTIME").status).toBe("OK");
    // The agent's own log line travels over its stdout pipe, not with the report: wait for it too.
    await waitFor("the agent to log the impairment", () => agent.output().includes("instance health IMPAIRED: DISK_SPACE"), { timeoutMs: 5_000 });
  });
});
