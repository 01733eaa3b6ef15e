import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker, runningWithLabel } from "../helpers/docker.ts";
import { dataOf, queryUdp, rcodeOf, startTestUpstream } from "../helpers/dns.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Service discovery end to end, real Docker and real agents: two agents on this machine, host A's
 * responder on the Docker bridge's gateway port 53 (what its containers are given as their DNS
 * server), host B's on a port of 127.0.0.1 (each agent on one machine needs its own address or
 * port). A container that agent A started resolves the service's name and SRV records, reaches a
 * task through them, and resolves a name outside .flotilla through the upstream (a stand-in
 * resolver on 127.0.0.1, no internet); a task killed on B leaves both hosts' answers.
 */
const C = "dns-e2e";
const ZONE = `${C}.flotilla`;
let tc: TestControl;
let upstream: Awaited<ReturnType<typeof startTestUpstream>>;
let a: { agent: AgentProcess; instanceId: string };
let b: { agent: AgentProcess; instanceId: string };
let gateway: string;
let bDns: { address: string; port: number };

const webDefinition = {
  family: "dns-web",
  containerDefinitions: [
    {
      name: "web",
      image: "flotilla/busybox:test",
      memory: 32,
      essential: true,
      stopTimeout: 2,
      portMappings: [{ name: "http", containerPort: 80, hostPort: 0, protocol: "tcp" }],
      command: ["sh", "-c", "mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"],
    },
  ],
};

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

/** A command inside the web container agent A runs (the client on host A). */
async function inContainerOf(instanceId: string, ...cmd: string[]): Promise<string> {
  const task = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(instanceId) && t.lastStatus === "RUNNING");
  if (!task) throw new Error(`no running web task on ${instanceId}`);
  return execIn(await containerOf(task.taskArn.split("/").pop(), "web"), ...cmd);
}

const taskIdOf = (t: { taskArn: string }) => t.taskArn.split("/").pop()!;

const srvTargets = async (server: { address: string; port: number }) =>
  (dataOf(await queryUdp(server, `_http._tcp.web.${ZONE}`, "SRV"), "SRV") as { port: number; target: string }[]).map((s) => ({ port: s.port, task: s.target.split(".")[0]! }));

beforeAll(async () => {
  gateway = (await docker("network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}")).trim();
  upstream = await startTestUpstream({ "outside.example.test": "192.0.2.99" });
  tc = await startTestControl();
  const up = `127.0.0.1:${upstream.port}`;
  a = await startRegisteredAgent(tc, C, ["--dns-listen", `${gateway}:53`, "--dns-upstream", up]);
  b = await startRegisteredAgent(tc, C, ["--dns-listen", "127.0.0.1:0", "--dns-upstream", up]);
  const m = await waitFor("agent B's DNS address", () => /discovery DNS on 127\.0\.0\.1:(\d+)/.exec(b.agent.output()));
  bDns = { address: "127.0.0.1", port: Number(m[1]) };
  expect((await tc.api("POST", "/v1/task-definitions", webDefinition)).status).toBe(201);
  const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "dns-web",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }],
  });
  expect(res.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 2, { timeoutMs: 40_000 });
}, 90_000);

afterAll(async () => {
  await releaseFileResources();
  await upstream?.stop();
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("service discovery by DNS", () => {
  test("a container on host A resolves SERVICE.CLUSTER.flotilla and its SRV records, and reaches a task through them", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    const ids = tasks.map((t) => (t.taskArn as string).split("/").pop()!).sort();
    // Both hosts answer with both tasks (host ports from the tasks' network bindings).
    for (const server of [{ address: gateway, port: 53 }, bDns]) {
      const got = await waitFor(`both tasks in ${server.address}:${server.port}'s SRV answer`, async () => {
        const s = await srvTargets(server);
        return s.length === 2 ? s : undefined;
      });
      expect(got.map((s) => s.task).sort()).toEqual(ids);
      const ports = tasks.map((t) => t.containers[0].networkBindings[0].hostPort).sort();
      expect(got.map((s) => s.port).sort()).toEqual(ports);
    }
    // From inside a container agent A started: its DNS server is A's responder.
    expect(await inContainerOf(a.instanceId, "cat", "/etc/resolv.conf")).toContain(`nameserver ${gateway}`);
    const lookup = await inContainerOf(a.instanceId, "nslookup", `web.${ZONE}`);
    const endpoints = (await tc.api("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as { address: string; hostPort: number }[];
    for (const e of endpoints) expect(lookup).toContain(e.address);
    const srv = await inContainerOf(a.instanceId, "nslookup", "-type=srv", `_http._tcp.web.${ZONE}`);
    for (const e of endpoints) expect(srv).toContain(` ${e.hostPort} `);
    // And a request by name and SRV port reaches a task.
    const target = (await srvTargets({ address: gateway, port: 53 }))[0]!;
    // (nc, not wget: the test image's static wget crashes on any request.)
    const body = await inContainerOf(a.instanceId, "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${target.task}.web.${ZONE} ${target.port}`);
    expect(body).toContain("served-by-");
  }, 60_000);

  test("a name outside .flotilla is forwarded to the host's upstream resolver", async () => {
    const out = await inContainerOf(a.instanceId, "nslookup", "outside.example.test");
    expect(out).toContain("192.0.2.99");
    expect(upstream.queries).toContain("outside.example.test");
  });

  test("host and awsvpc network mode containers are given the responder too", async () => {
    expect((await tc.api("PUT", `/v1/clusters/${C}/policy`, { allowHostNetwork: true })).status).toBe(200);
    for (const networkMode of ["host", "awsvpc"] as const) {
      const family = `dns-client-${networkMode}`;
      const reg = await tc.api("POST", "/v1/task-definitions", {
        family,
        networkMode,
        containerDefinitions: [{ name: "client", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }],
      });
      expect(reg.body.error ?? reg.status).toBe(201);
      const run = await tc.api("POST", `/v1/clusters/${C}/tasks/start`, { taskDefinition: family, containerInstances: [a.instanceId] });
      expect(run.body.error ?? run.status).toBe(201);
      const id = taskIdOf(run.body.tasks[0]);
      await waitFor(`${networkMode} client to run`, async () => (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task.lastStatus === "RUNNING", { timeoutMs: 30_000 });
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
    const onB = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(b.instanceId));
    const killed = (onB.taskArn as string).split("/").pop()!;
    const [container] = await runningWithLabel(`flotilla.task-id=${killed}`);
    await docker("kill", container!);
    for (const server of [{ address: gateway, port: 53 }, bDns]) {
      await waitFor(`task ${killed} to leave ${server.address}:${server.port}'s answers`, async () => !(await srvTargets(server)).some((s) => s.task === killed), { timeoutMs: 15_000 });
      expect(rcodeOf(await queryUdp(server, `${killed}.web.${ZONE}`, "A"))).toBe("NXDOMAIN");
    }
  }, 30_000);

  test("with the control service gone, a restarted agent answers from the records on disk, and drops its own task that stops", async () => {
    const tasks = await waitFor("two serving tasks again", async () => {
      const s = await srvTargets({ address: gateway, port: 53 });
      return s.length === 2 ? s : undefined;
    }, { timeoutMs: 30_000 });
    const onA = (await serviceTasks(tc, C, "web")).find((t) => t.containerInstanceArn.endsWith(a.instanceId) && t.lastStatus === "RUNNING");
    const local = taskIdOf(onA);
    expect(tasks.map((t) => t.task)).toContain(local);
    await tc.stop();
    await a.agent.stop();
    a.agent = startAgentProcess({ control: tc.control.mqttUrl, dataDir: a.agent.dataDir, args: ["--dns-listen", `${gateway}:53`, "--dns-upstream", `127.0.0.1:${upstream.port}`] });
    await waitFor("the restarted agent's responder", () => a.agent.output().includes("discovery DNS on"));
    // The last known answers, though no control is there to renew them.
    expect((await srvTargets({ address: gateway, port: 53 })).map((t) => t.task).sort()).toEqual(tasks.map((t) => t.task).sort());
    // A task of this host that stops leaves this host's answers at once: the agent sees it itself.
    await docker("kill", await containerOf(local, "web"));
    await waitFor(`task ${local} to leave host A's answers while offline`, async () => !(await srvTargets({ address: gateway, port: 53 })).some((s) => s.task === local), { timeoutMs: 15_000 });
    expect((await srvTargets({ address: gateway, port: 53 })).length).toBe(1);
  }, 60_000);
});
