import { beforeAll, describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * What the agent honours from a task definition, with a real control service, a real agent process
 * and the real Docker engine: networking (bridge dynamic ports, awsvpc shared namespace), container
 * options, dependsOn order and failures, health checks.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "features";
const IMAGE = "flotilla/busybox:test";

/** A shell command that exits 0 on SIGTERM (a bare PID 1 ignores it). */
const sh = (script: string) => ["sh", "-c", `trap "exit 0" TERM; ${script}`];
const forever = "while :; do sleep 1 & wait $!; done";

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent, instanceId } = c) });

beforeAll(async () => {
  // Host-level powers are refused unless the cluster grants them; these tests use all of them.
  const policy = await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, {
    allowPrivileged: true,
    allowHostNetwork: true,
    allowHostNamespaces: true,
    allowedHostPaths: ["/"],
    allowDevices: true,
    allowedCapabilities: ["ALL"],
  });
  expect(policy.status).toBe(200);
});

async function run(definition: Record<string, unknown>): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", definition);
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: definition.family });
  if (res.body.failures?.length) throw new Error(`run failed: ${JSON.stringify(res.body.failures)}`);
  if (!res.body.tasks?.[0]) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.tasks[0].taskId;
}

const getTask = async (taskId: string) => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;

async function stopTask(taskId: string) {
  await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, { reason: "test is done" });
  return waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
}

const inspect = async (id: string, format: string) => docker("inspect", "--format", format, id);

/** A free TCP port on the host (for awsvpc, where hostPort = containerPort). */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

describe("networking", () => {
  test("bridge: a dynamic host port is reported as networkBindings and reachable from the host", async () => {
    const taskId = await run({
      family: "dyn-port",
      containerDefinitions: [{ name: "web", image: IMAGE, memory: 32, portMappings: [{ containerPort: 80 }] }],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const bindings = task.containers[0].networkBindings;
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ bindIP: "0.0.0.0", containerPort: 80, protocol: "tcp" });
    expect(bindings[0].hostPort).toBeGreaterThan(0);
    const page = await waitFor("the page on the dynamic port", async () => {
      const res = await fetch(`http://127.0.0.1:${bindings[0].hostPort}/`);
      return res.ok ? res.text() : undefined;
    });
    expect(page).toContain("flotilla test page");
    await stopTask(taskId);
  });

  test("awsvpc: one namespace for the task's containers, its own address, ports published at containerPort", async () => {
    const port = freePort();
    const taskId = await run({
      family: "pod",
      networkMode: "awsvpc",
      containerDefinitions: [
        { name: "web", image: IMAGE, memory: 32, command: sh(`httpd -f -p ${port} -h /www & wait`), portMappings: [{ containerPort: port }] },
        {
          name: "client",
          image: IMAGE,
          memory: 32,
          essential: false,
          // Reaches its sibling on localhost, then exits 0.
          command: sh(`until wget -q -O /dev/null http://127.0.0.1:${port}/; do sleep 0.2; done`),
        },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const web = task.containers.find((c: any) => c.name === "web");
    expect(web.networkBindings).toEqual([{ bindIP: "0.0.0.0", containerPort: port, hostPort: port, protocol: "tcp" }]);
    const ip: string = web.networkInterfaces[0].privateIpv4Address;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(task.attachments[0]).toMatchObject({ type: "ElasticNetworkInterface", status: "ATTACHED", details: [{ name: "privateIPv4Address", value: ip }] });

    const client = await waitFor("the client to reach web on localhost", async () => {
      const c = (await getTask(taskId)).containers.find((x: any) => x.name === "client");
      return c.lastStatus === "STOPPED" ? c : undefined;
    });
    expect(client.exitCode).toBe(0);

    // Both containers are in the namespace of the hidden holder, which is on the flotilla network.
    const holder = (await docker("ps", "-q", "--no-trunc", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=~netns"));
    expect(holder).not.toBe("");
    expect(await inspect(web.runtimeId, "{{.HostConfig.NetworkMode}}")).toMatch(/^container:/);
    expect(await inspect(holder, "{{.NetworkSettings.Networks.flotilla.IPAddress}}")).toBe(ip);
    const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(page).toContain("flotilla test page");

    await stopTask(taskId);
    expect(await inspect(holder, "{{.State.Running}}")).toBe("false");
  });

  test("awsvpc: when the namespace holder dies the task stops, naming why", async () => {
    const taskId = await run({
      family: "pod-holder",
      networkMode: "awsvpc",
      containerDefinitions: [{ name: "a", image: IMAGE, memory: 32, command: sh(forever) }],
    });
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const holder = await docker("ps", "-q", "--filter", `label=flotilla.task-id=${taskId}`, "--filter", "label=flotilla.container-name=~netns");
    await docker("kill", holder);
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped).toMatchObject({ stoppedReason: "Task network namespace holder exited (networkMode awsvpc)", stopCode: "EssentialContainerExited" });
  });

  test("host and none network modes reach Docker", async () => {
    const taskId = await run({
      family: "modes",
      networkMode: "none",
      containerDefinitions: [{ name: "a", image: IMAGE, memory: 32, command: sh(forever) }],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    expect(await inspect(task.containers[0].runtimeId, "{{.HostConfig.NetworkMode}}")).toBe("none");
    await stopTask(taskId);

    const hostTask = await run({
      family: "hostmode",
      networkMode: "host",
      containerDefinitions: [{ name: "a", image: IMAGE, memory: 32, command: sh(forever) }],
    });
    const ht = await waitTaskStatus(tc, CLUSTER, hostTask, "RUNNING");
    expect(await inspect(ht.containers[0].runtimeId, "{{.HostConfig.NetworkMode}}")).toBe("host");
    await stopTask(hostTask);
  });
});

describe("container options", () => {
  test("every option of the container definition is visible in docker inspect", async () => {
    const taskId = await run({
      family: "options",
      containerDefinitions: [
        {
          name: "opts",
          image: IMAGE,
          cpu: 128,
          memory: 64,
          memoryReservation: 32,
          entryPoint: ["sh", "-c"],
          command: [`trap "exit 0" TERM; ${forever}`],
          environment: [{ name: "GREETING", value: "hello world" }],
          workingDirectory: "/tmp",
          user: "65534:65534",
          hostname: "edge-box",
          dockerLabels: { "com.example.team": "blue" },
          ulimits: [{ name: "nofile", softLimit: 1024, hardLimit: 2048 }],
          linuxParameters: {
            initProcessEnabled: true,
            capabilities: { add: ["NET_ADMIN"], drop: ["MKNOD"] },
            devices: [{ hostPath: "/dev/zero", containerPath: "/dev/myzero", permissions: ["read"] }],
          },
          readonlyRootFilesystem: true,
          stopTimeout: 7,
          dnsServers: ["10.9.9.9"],
          extraHosts: [{ hostname: "db.local", ipAddress: "10.1.2.3" }],
        },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const id = task.containers[0].runtimeId;
    const i = JSON.parse(await docker("inspect", id))[0];
    expect(i.Config.Env).toContain("GREETING=hello world");
    expect(i.Config.Entrypoint).toEqual(["sh", "-c"]);
    expect(i.Config.Cmd).toEqual([`trap "exit 0" TERM; ${forever}`]);
    expect(i.Config.WorkingDir).toBe("/tmp");
    expect(i.Config.User).toBe("65534:65534");
    expect(i.Config.Hostname).toBe("edge-box");
    expect(i.Config.Labels["com.example.team"]).toBe("blue");
    expect(i.Config.StopTimeout).toBe(7);
    expect(i.HostConfig.CpuShares).toBe(128);
    expect(i.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(i.HostConfig.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(i.HostConfig.Ulimits).toEqual([{ Name: "nofile", Soft: 1024, Hard: 2048 }]);
    expect(i.HostConfig.Init).toBe(true);
    expect(i.HostConfig.CapAdd).toEqual(["NET_ADMIN"]);
    expect(i.HostConfig.CapDrop).toEqual(["MKNOD"]);
    expect(i.HostConfig.Devices).toEqual([{ PathOnHost: "/dev/zero", PathInContainer: "/dev/myzero", CgroupPermissions: "r" }]);
    expect(i.HostConfig.ReadonlyRootfs).toBe(true);
    expect(i.HostConfig.Dns).toEqual(["10.9.9.9"]);
    expect(i.HostConfig.ExtraHosts).toEqual(["db.local:10.1.2.3"]);
    // And the process really runs that way.
    expect(await docker("exec", id, "id", "-u")).toBe("65534");
    expect(await docker("exec", id, "sh", "-c", "grep db.local /etc/hosts")).toContain("10.1.2.3");
    await expect(docker("exec", id, "touch", "/written")).rejects.toThrow(/Read-only file system/);
    await stopTask(taskId);
  });

  test("privileged reaches Docker (or fails to start with a clear reason where the host forbids it)", async () => {
    const taskId = await run({
      family: "privileged",
      containerDefinitions: [{ name: "p", image: IMAGE, memory: 32, privileged: true, command: sh(forever) }],
    });
    // Docker-in-a-restricted-container hosts cannot grant all capabilities: runc refuses to start.
    const task = await waitFor("task RUNNING or STOPPED", async () => {
      const t = await getTask(taskId);
      return t.lastStatus === "RUNNING" || t.lastStatus === "STOPPED" ? t : undefined;
    });
    expect(await inspect(task.containers[0].runtimeId, "{{.HostConfig.Privileged}}")).toBe("true");
    if (task.lastStatus === "STOPPED") {
      expect(task).toMatchObject({ stopCode: "TaskFailedToStart" });
      expect(task.stoppedReason).toStartWith("CannotStartContainerError: ");
    } else {
      await stopTask(taskId);
    }
  });
});

describe("dependsOn", () => {
  test("containers start in dependency order (SUCCESS, HEALTHY) and stop in reverse", async () => {
    const taskId = await run({
      family: "ordered",
      containerDefinitions: [
        {
          name: "app",
          image: IMAGE,
          memory: 32,
          command: sh(forever),
          dependsOn: [
            { containerName: "init", condition: "SUCCESS" },
            { containerName: "db", condition: "HEALTHY" },
          ],
        },
        { name: "init", image: IMAGE, memory: 32, essential: false, command: ["sh", "-c", "sleep 1; exit 0"] },
        {
          name: "db",
          image: IMAGE,
          memory: 32,
          command: sh(`sleep 1; touch /tmp/ready; ${forever}`),
          healthCheck: { command: ["CMD-SHELL", "test -f /tmp/ready"], interval: 5, timeout: 2, retries: 1 },
        },
      ],
    });
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 40_000);
    const id = (name: string) => task.containers.find((c: any) => c.name === name).runtimeId as string;
    const time = async (name: string, field: string) => Date.parse(await inspect(id(name), `{{.State.${field}}}`));
    const initDone = await time("init", "FinishedAt");
    const appStarted = await time("app", "StartedAt");
    const dbStarted = await time("db", "StartedAt");
    expect(appStarted).toBeGreaterThanOrEqual(initDone);
    // db became healthy only after its first check (interval 5 s) ran.
    expect(appStarted - dbStarted).toBeGreaterThanOrEqual(4_000);
    expect(task.containers.find((c: any) => c.name === "init")).toMatchObject({ lastStatus: "STOPPED", exitCode: 0 });
    expect(task.containers.find((c: any) => c.name === "db").healthStatus).toBe("HEALTHY");

    await stopTask(taskId);
    // Reverse order: app (the dependent) stopped before db.
    expect(await time("app", "FinishedAt")).toBeLessThanOrEqual(await time("db", "FinishedAt"));
  }, 60_000);

  test("a failed SUCCESS dependency stops the task with a reason naming the containers and the condition", async () => {
    const taskId = await run({
      family: "failed-dep",
      containerDefinitions: [
        { name: "migrate", image: IMAGE, memory: 32, essential: false, command: ["sh", "-c", "exit 3"] },
        { name: "app", image: IMAGE, memory: 32, command: sh(forever), dependsOn: [{ containerName: "migrate", condition: "SUCCESS" }] },
      ],
    });
    const stopped = await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toContain("app depends on migrate with condition SUCCESS");
    expect(stopped.stoppedReason).toContain("exited with code 3");
    expect(stopped.containers.find((c: any) => c.name === "migrate")).toMatchObject({ exitCode: 3 });
    // The dependent was never created.
    expect(stopped.containers.find((c: any) => c.name === "app").runtimeId).toBeUndefined();
  });
});

describe("health checks", () => {
  test("HEALTHY then UNHEALTHY, per container and for the task, seen through the API", async () => {
    const taskId = await run({
      family: "health",
      containerDefinitions: [
        {
          name: "svc",
          image: IMAGE,
          memory: 32,
          command: sh(`touch /tmp/ok; ${forever}`),
          healthCheck: { command: ["CMD-SHELL", "test -f /tmp/ok"], interval: 5, timeout: 2, retries: 1 },
        },
        { name: "side", image: IMAGE, memory: 32, essential: false, command: sh(forever) },
      ],
    });
    const running = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    expect(running.healthStatus).toBe("UNKNOWN");
    const healthy = await waitFor("task HEALTHY", async () => {
      const t = await getTask(taskId);
      return t.healthStatus === "HEALTHY" ? t : undefined;
    });
    expect(healthy.containers.find((c: any) => c.name === "svc").healthStatus).toBe("HEALTHY");
    expect(healthy.containers.find((c: any) => c.name === "side").healthStatus).toBeUndefined();

    const id = healthy.containers.find((c: any) => c.name === "svc").runtimeId;
    const removedAt = Date.now();
    await docker("exec", id, "rm", "/tmp/ok");
    // Docker notices at its next check (interval 5 s); the API follows Docker's health_status event.
    const unhealthy = await waitFor("task UNHEALTHY through the API", async () => {
      const t = await getTask(taskId);
      return t.healthStatus === "UNHEALTHY" ? t : undefined;
    }, { timeoutMs: 15_000, intervalMs: 50 });
    const apiSaw = Date.now();
    const health = JSON.parse(await inspect(id, "{{json .State.Health}}"));
    expect(health.Status).toBe("unhealthy");
    // The probe that failed first after the file was removed is when Docker changed its mind.
    const failed = health.Log.find((l: any) => l.ExitCode !== 0 && Date.parse(l.Start) >= removedAt - 50);
    console.log(JSON.stringify({ metric: "health_flip_docker_to_api_ms", value: apiSaw - Date.parse(failed.End), pollMs: 50 }));
    expect(unhealthy.containers.find((c: any) => c.name === "svc").healthStatus).toBe("UNHEALTHY");
    expect(unhealthy.lastStatus).toBe("RUNNING");
    await stopTask(taskId);
  }, 40_000);
});

describe("stop", () => {
  test("stop signal, stopTimeout, then kill: exit codes exact per container", async () => {
    const taskId = await run({
      family: "stopping",
      containerDefinitions: [
        // Exits 0 on SIGTERM.
        { name: "polite", image: IMAGE, memory: 32, command: sh(forever) },
        // A bare PID 1 ignores SIGTERM: killed after its 2 s stopTimeout.
        { name: "stubborn", image: IMAGE, memory: 32, command: ["sleep", "3600"], stopTimeout: 2 },
      ],
    });
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const asked = Date.now();
    const stopped = await stopTask(taskId);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(2_000);
    expect(stopped.containers.find((c: any) => c.name === "polite").exitCode).toBe(0);
    expect(stopped.containers.find((c: any) => c.name === "stubborn").exitCode).toBe(137);
  });
});
