import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { leftBehindBy, releaseFileResources } from "../helpers/leftovers.ts";
import { startNetnsHosts, type NetnsHost, type NetnsHosts } from "../helpers/netns-hosts.ts";
import { serviceTasks, waitServiceSteady } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Issue 17's multi-host proof with separate hosts: three network namespaces, each with its own
 * Docker engine and its own real agent process (test/helpers/netns-hosts.ts), the control
 * service on this machine's side of the segment. The web service's tasks run on hosts B and C
 * (a static host port, as two real hosts could both publish it); a client container on host A
 * resolves `web.CLUSTER.flotilla` through A's agent (its DNS server) and fetches the page by
 * name; B's task killed through B's engine leaves A's answers while requests by name go on;
 * A's ingress port forwards to the tasks on B and C.
 */
const C = "netns-e2e";
const ZONE = `${C}.flotilla`;
const WEB_PORT = 18080;
const INGRESS_PORT = 18090;
const ROOT = join(import.meta.dir, "..", "..");
let net: NetnsHosts | undefined;
let tc: TestControl;
const hosts: (NetnsHost & { instanceId: string })[] = [];
let client = "";

const webDefinition = {
  family: "netns-web",
  containerDefinitions: [
    {
      name: "web",
      image: "flotilla/busybox:test",
      memory: 32,
      essential: true,
      stopTimeout: 2,
      portMappings: [{ name: "http", containerPort: 80, hostPort: WEB_PORT, protocol: "tcp" }],
      command: ["sh", "-c", "mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"],
    },
  ],
};
const clientDefinition = {
  family: "netns-client",
  containerDefinitions: [{ name: "client", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }],
};

const taskIdOf = (t: { taskArn: string }) => t.taskArn.split("/").pop()!;

/** A command in the client container on host A (through A's engine). */
async function inClient(...cmd: string[]): Promise<string> {
  const p = Bun.spawn(["docker", "-H", hosts[0]!.dockerd.host, "exec", client, ...cmd], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return out + err;
}

/** GET / by the service's name from the client (nc: the image's static wget crashes). */
const byName = () => inClient("sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web.${ZONE} ${WEB_PORT}`);

/** The host addresses in A's answer for the service's name. */
async function addressesOnA(): Promise<string[]> {
  const out = await inClient("nslookup", `web.${ZONE}`);
  const after = out.split(`web.${ZONE}`).slice(1).join("\n");
  return [...after.matchAll(/Address:\s*([0-9.]+)/g)].map((m) => m[1]!).sort();
}

/** The task ids of A's SRV answer. */
async function srvTasksOnA(): Promise<string[]> {
  const out = await inClient("nslookup", "-type=srv", `_http._tcp.web.${ZONE}`);
  return [...out.matchAll(/([0-9a-f]{32})\.web\./g)].map((m) => m[1]!).sort();
}

/** The page answered by host `i`'s container of task `taskId`: served-by-<container id's first 12>. */
async function pageOf(i: number, taskId: string): Promise<string> {
  const id = await hosts[i]!.dockerd.docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`);
  if (!id) throw new Error(`no container of task ${taskId} on host ${i}`);
  return `served-by-${id.slice(0, 12)}`;
}

async function viaIngressOfA(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${hosts[0]!.address}:${INGRESS_PORT}/`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? (await res.text()).trim() : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  net = await startNetnsHosts(3);
  tc = await startTestControl({ extra: { broker: { host: net.hostAddress, port: 0 } } });
  for (const [i, h] of net.hosts.entries()) {
    const args = ["--advertise-address", h.address, "--ingress", h.address, "--dns-listen", `${h.gateway}:53`, "--attribute", `role=${i === 0 ? "client" : "web"}`];
    const started = await startRegisteredAgent(tc, C, args, { command: [...h.enter, "bun", join(ROOT, "agent/main.ts")], env: { DOCKER_HOST: h.dockerd.host } });
    hosts.push({ ...h, instanceId: started.instanceId });
  }
  expect((await tc.api("POST", "/v1/task-definitions", webDefinition)).status).toBe(201);
  expect((await tc.api("POST", "/v1/task-definitions", clientDefinition)).status).toBe(201);
  const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "netns-web",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }, { type: "memberOf", expression: "attribute:role == web" }],
    ingress: [{ containerPort: 80, listenPort: INGRESS_PORT }],
  });
  expect(res.body.error ?? res.status).toBe(201);
  await waitServiceSteady(tc, C, "web", 2, { timeoutMs: 60_000 });
  const run = await tc.api("POST", `/v1/clusters/${C}/tasks/start`, { taskDefinition: "netns-client", containerInstances: [hosts[0]!.instanceId] });
  expect(run.body.error ?? run.status).toBe(201);
  const clientId = taskIdOf(run.body.tasks[0]);
  await waitFor("the client to run on host A", async () => (await tc.api("GET", `/v1/clusters/${C}/tasks/${clientId}`)).body.task.lastStatus === "RUNNING", { timeoutMs: 30_000 });
  client = await hosts[0]!.dockerd.docker("ps", "-q", "--filter", `label=flotilla.task-id=${clientId}`);
}, 240_000);

afterAll(async () => {
  try {
    await releaseFileResources();
  } finally {
    // Engines, namespaces and veths go even when the agents' teardown failed.
    await net?.stop();
  }
  const left = await leftBehindBy(Bun.main);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 120_000);

describe("three hosts in their own network namespaces, each with its own engine and agent", () => {
  test("a client on host A resolves web.CLUSTER.flotilla to hosts B and C and fetches the page by name", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    expect(new Set(tasks.map((t) => t.containerInstanceArn.split("/").pop()))).toEqual(new Set([hosts[1]!.instanceId, hosts[2]!.instanceId]));
    expect(await inClient("cat", "/etc/resolv.conf")).toContain(`nameserver ${hosts[0]!.gateway}`);
    expect(await waitFor("A's answer to list B and C", async () => {
      const a = await addressesOnA();
      return a.length === 2 ? a : undefined;
    })).toEqual([hosts[1]!.address, hosts[2]!.address]);
    const pages = new Set([await pageOf(1, taskIdOf(tasks.find((t) => t.containerInstanceArn.endsWith(hosts[1]!.instanceId)))), await pageOf(2, taskIdOf(tasks.find((t) => t.containerInstanceArn.endsWith(hosts[2]!.instanceId))))]);
    const body = await byName();
    expect([...pages].some((p) => body.includes(p))).toBe(true);
  }, 60_000);

  test("requests to host A's ingress port reach the tasks on B and C", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    const expected = new Set<string>();
    for (const t of tasks) expected.add(await pageOf(t.containerInstanceArn.endsWith(hosts[1]!.instanceId) ? 1 : 2, taskIdOf(t)));
    const seen = new Set<string>();
    await waitFor("A's ingress to reach both tasks", async () => {
      const page = await viaIngressOfA();
      if (page) seen.add(page);
      return seen.size === 2 || undefined;
    }, { timeoutMs: 30_000 });
    expect(seen).toEqual(expected);
  }, 60_000);

  test("B's task killed through B's engine leaves A's answers; requests by name still succeed", async () => {
    const tasks = await serviceTasks(tc, C, "web");
    const onB = tasks.find((t) => t.containerInstanceArn.endsWith(hosts[1]!.instanceId));
    const killed = taskIdOf(onB);
    expect(await waitFor("both tasks in A's SRV answer", async () => ((await srvTasksOnA()).length === 2 ? srvTasksOnA() : undefined))).toContain(killed);
    const container = await hosts[1]!.dockerd.docker("ps", "-q", "--filter", `label=flotilla.task-id=${killed}`);
    await hosts[1]!.dockerd.docker("kill", container);
    await waitFor("the killed task to leave A's answers", async () => !(await srvTasksOnA()).includes(killed) || undefined, { timeoutMs: 20_000 });
    // The name still answers (C's task, and B's replacement once it runs).
    for (let i = 0; i < 3; i++) expect(await byName()).toContain("served-by-");
    expect(await viaIngressOfA()).toStartWith("served-by-");
  }, 60_000);
});
