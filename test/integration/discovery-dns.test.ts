import { servedByWeb } from "../helpers/fixtures.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, runningWithLabel } from "../helpers/docker.ts";
import { dataOf, queryUdp, rcodeOf, startTestUpstream } from "../helpers/dns.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { addHostAddress } from "../helpers/host-address.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Service discovery end to end, real Docker and real agents: three agents on this machine, each
 * with its responder on port 53 of an address of its own (what its containers are given as their
 * DNS server: several agents on one machine need distinct addresses). Web tasks run on hosts B
 * and C; a client container on host A resolves the service's name and SRV records, reaches a task
 * through them, and resolves a name outside .flotilla through the upstream (a stand-in resolver
 * on 127.0.0.1, no internet); a task killed on B leaves every host's answers; a host restarted
 * with the control gone answers from disk. Not in separate network namespaces (docs/discovery.md).
 */
const C = "dns-e2e";
const ZONE = `${C}.flotilla`;
const ADDRESSES = ["198.18.53.1", "198.18.53.2", "198.18.53.3"];
let tc: TestControl;
let upstream: Awaited<ReturnType<typeof startTestUpstream>>;
const removals: (() => Promise<void>)[] = [];
type Host = { agent: AgentProcess; instanceId: string; dns: { address: string; port: number } };
const hosts: Host[] = [];
let clientTask = "";

const webDefinition = servedByWeb("dns-web");
const clientDefinition = (networkMode: "bridge" | "host" | "awsvpc") => ({
  family: `dns-client-${networkMode}`,
  networkMode,
  containerDefinitions: [{ name: "client", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }],
});

const agentArgs = (i: number) => ["--dns-listen", `${ADDRESSES[i]}:53`, "--dns-upstream", `127.0.0.1:${upstream.port}`, "--attribute", `role=${i === 0 ? "client" : "web"}`];

/** Starts a client task of `networkMode` on host A; its id once RUNNING. */
async function startClient(networkMode: "bridge" | "host" | "awsvpc"): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", clientDefinition(networkMode));
  expect(reg.body.error ?? reg.status).toBe(201);
  const run = await tc.api("POST", `/v1/clusters/${C}/tasks/start`, { taskDefinition: `dns-client-${networkMode}`, containerInstances: [hosts[0]!.instanceId] });
  expect(run.body.error ?? run.status).toBe(201);
  const id = taskIdOf(run.body.tasks[0]);
  await waitFor(`${networkMode} client to run`, async () => (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task.lastStatus === "RUNNING", { timeoutMs: 30_000 });
  return id;
}

/** Output of a command run inside a running container (stdout and stderr). */
async function execIn(container: string, ...cmd: string[]): Promise<string> {
  const p = Bun.spawn(["docker", "exec", container, ...cmd], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return out + err;
}

/** The running container named `name` of a task. */
async function containerOf(taskId: string, name: string): Promise<string> {
  const [id] = await runningWithLabel(`flotilla.task-id=${taskId}`).then(async (ids) => {
    const named = await runningWithLabel(`flotilla.container-name=${name}`);
    return ids.filter((i) => named.includes(i));
  });
  if (!id) throw new Error(`no running container ${name} of task ${taskId}`);
  return id;
}

/** A command inside the client container on host A. */
async function inClient(...cmd: string[]): Promise<string> {
  return execIn(await containerOf(clientTask, "client"), ...cmd);
}

const taskIdOf = (t: { taskArn: string }) => t.taskArn.split("/").pop()!;

const srvTargets = async (server: { address: string; port: number }) =>
  (dataOf(await queryUdp(server, `_http._tcp.web.${ZONE}`, "SRV"), "SRV") as { port: number; target: string }[]).map((s) => ({ port: s.port, task: s.target.split(".")[0]! }));

beforeAll(async () => {
  for (const address of ADDRESSES) removals.push(await addHostAddress(address));
  upstream = await startTestUpstream({ "outside.example.test": "192.0.2.99" });
  tc = await startTestControl();
  for (let i = 0; i < ADDRESSES.length; i++) {
    hosts.push({ ...(await startRegisteredAgent(tc, C, agentArgs(i))), dns: { address: ADDRESSES[i]!, port: 53 } });
  }
  expect((await tc.api("PUT", `/v1/clusters/${C}/policy`, { allowHostNetwork: true })).status).toBe(200);
  expect((await tc.api("POST", "/v1/task-definitions", webDefinition)).status).toBe(201);
  const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "dns-web",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }, { type: "memberOf", expression: "attribute:role == web" }],
  });
  expect(res.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 2, { timeoutMs: 40_000 });
  clientTask = await startClient("bridge");
}, 120_000);

afterAll(async () => {
  await releaseFileResources();
  await upstream?.stop();
  for (const remove of removals) await remove();
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("service discovery by DNS", () => {
  test("a client container on host A resolves SERVICE.CLUSTER.flotilla served by tasks on B and C, reads the SRV host ports, and reaches a task", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    expect(new Set(tasks.map((t) => t.containerInstanceArn.split("/").pop()))).toEqual(new Set([hosts[1]!.instanceId, hosts[2]!.instanceId]));
    const ids = tasks.map(taskIdOf).sort();
    const ports = tasks.map((t) => t.containers[0].networkBindings[0].hostPort).sort();
    // Every host answers with both tasks, at their host ports.
    for (const h of hosts) {
      const got = await waitFor(`both tasks in ${h.dns.address}'s SRV answer`, async () => {
        const s = await srvTargets(h.dns);
        return s.length === 2 ? s : undefined;
      });
      expect(got.map((s) => s.task).sort()).toEqual(ids);
      expect(got.map((s) => s.port).sort()).toEqual(ports);
    }
    // Inside the client: its DNS server is host A's responder.
    expect(await inClient("cat", "/etc/resolv.conf")).toContain(`nameserver ${ADDRESSES[0]}`);
    const endpoints = (await tc.api("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as { address: string; hostPort: number }[];
    const lookup = await inClient("nslookup", `web.${ZONE}`);
    for (const e of endpoints) expect(lookup).toContain(e.address);
    const srv = await inClient("nslookup", "-type=srv", `_http._tcp.web.${ZONE}`);
    for (const e of endpoints) expect(srv).toContain(` ${e.hostPort} `);
    // A request by the SRV target's name and port reaches a task (nc: the image's static wget crashes).
    for (const target of await srvTargets(hosts[0]!.dns)) {
      const body = await inClient("sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${target.task}.web.${ZONE} ${target.port}`);
      expect(body).toContain("served-by-");
    }
  }, 60_000);

  test("a name outside .flotilla is forwarded to the host's upstream resolver", async () => {
    expect(await inClient("nslookup", "outside.example.test")).toContain("192.0.2.99");
    expect(upstream.queries).toContain("outside.example.test");
  });

  test("host and awsvpc network mode containers are given the responder too", async () => {
    for (const networkMode of ["host", "awsvpc"] as const) {
      const id = await startClient(networkMode);
      const client = await containerOf(id, "client");
      const out = await execIn(client, "nslookup", "-type=srv", `_http._tcp.web.${ZONE}`);
      for (const e of (await tc.api("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as { hostPort: number }[]) {
        expect(out).toContain(` ${e.hostPort} `);
      }
      expect(await execIn(client, "nslookup", "outside.example.test")).toContain("192.0.2.99");
      await tc.api("POST", `/v1/clusters/${C}/tasks/${id}/stop`, {});
    }
  }, 90_000);

  test("a task killed on host B leaves every host's answers", async () => {
    const onB = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(hosts[1]!.instanceId));
    const killed = taskIdOf(onB);
    await docker("kill", await containerOf(killed, "web"));
    for (const h of hosts) {
      await waitFor(`task ${killed} to leave ${h.dns.address}'s answers`, async () => !(await srvTargets(h.dns)).some((s) => s.task === killed), { timeoutMs: 15_000 });
      expect(rcodeOf(await queryUdp(h.dns, `${killed}.web.${ZONE}`, "A"))).toBe("NXDOMAIN");
    }
  }, 30_000);

  test("with the control service gone, a restarted agent answers from the records on disk, and drops its own task that stops", async () => {
    const c = hosts[2]!;
    const tasks = await waitFor("two serving tasks again", async () => {
      const s = await srvTargets(c.dns);
      return s.length === 2 ? s : undefined;
    }, { timeoutMs: 30_000 });
    const onC = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(c.instanceId) && t.lastStatus === "RUNNING");
    const local = taskIdOf(onC);
    expect(tasks.map((t) => t.task)).toContain(local);
    await tc.stop();
    await c.agent.stop();
    c.agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: c.agent.dataDir, args: agentArgs(2) });
    await waitFor("the restarted agent's responder", () => c.agent.output().includes("discovery DNS on"));
    // The last known answers, though no control is there to renew them.
    expect((await srvTargets(c.dns)).map((t) => t.task).sort()).toEqual(tasks.map((t) => t.task).sort());
    // A task of this host that stops leaves this host's answers at once: the agent sees it itself.
    await docker("kill", await containerOf(local, "web"));
    await waitFor(`task ${local} to leave host C's answers while offline`, async () => !(await srvTargets(c.dns)).some((s) => s.task === local), { timeoutMs: 15_000 });
    expect(await srvTargets(c.dns)).toHaveLength(1);
  }, 60_000);
});
