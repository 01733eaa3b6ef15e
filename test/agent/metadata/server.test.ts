import { describe, expect, test } from "bun:test";
import { taskMetadataApp, type TaskMetadataSource } from "../../../agent/metadata/server.ts";
import type { ContainerStats, RuntimeContainer } from "../../../agent/runtime/types.ts";
import type { AgentTask } from "../../../agent/store/state-file.ts";

/**
 * The task metadata endpoint in-process, over a fixed task state and a fake engine: the v3 and v4
 * bodies in amazon-ecs-agent's shapes, ECS's answers for an id nobody has, and stats passed on.
 */

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const WEB_ID = "5b6c1a8e-3f0e-4d6a-9a51-3c2b8d1e7f00";
const SIDECAR_ID = "0e7d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d10";
const PENDING_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

const definition = {
  family: "shop",
  cpu: 512,
  memory: 1024,
  networkMode: "bridge",
  containerDefinitions: [
    {
      name: "web",
      image: "nginx:1.27",
      cpu: 256,
      memory: 256,
      portMappings: [{ containerPort: 80, hostPort: 0 }],
      logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/shop", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "shop" } },
      healthCheck: { command: ["CMD-SHELL", "true"] },
      restartPolicy: { enabled: true },
    },
    { name: "otel", image: "otel/collector:1", essential: false, memoryReservation: 64 },
    { name: "late", image: "busybox:1", essential: false, memory: 16 },
  ],
};

function shopTask(overrides: Partial<AgentTask> = {}): AgentTask {
  return {
    taskId: "0123456789abcdef0123456789abcdef",
    taskArn: "arn:aws:ecs:eu-west-1:000000000000:task/edge/0123456789abcdef0123456789abcdef",
    family: "shop",
    revision: 7,
    taskDefinitionArn: "arn:aws:ecs:eu-west-1:000000000000:task-definition/shop:7",
    definition,
    desiredStatus: "RUNNING",
    knownStatus: "RUNNING",
    startedAt: T0 + 3000,
    pullStartedAt: T0,
    pullStoppedAt: T0 + 2000,
    containers: [
      {
        name: "web",
        image: "nginx:1.27",
        essential: true,
        knownStatus: "RUNNING",
        runtimeId: "d0c4e1",
        startedAt: T0 + 3000,
        healthStatus: "HEALTHY",
        restartCount: 1,
        networkBindings: [{ bindIP: "0.0.0.0", containerPort: 80, hostPort: 32768, protocol: "tcp" }],
        metadataId: WEB_ID,
      },
      { name: "otel", image: "otel/collector:1", essential: false, knownStatus: "RUNNING", runtimeId: "07e1", startedAt: T0 + 2500, metadataId: SIDECAR_ID },
      { name: "late", image: "busybox:1", essential: false, knownStatus: "PENDING", metadataId: PENDING_ID },
    ],
    ...overrides,
  };
}

const inspected: Record<string, RuntimeContainer> = {
  d0c4e1: {
    id: "d0c4e1",
    name: "flotilla-0123456789abcdef0123456789abcdef-web",
    labels: { "flotilla.task-id": "0123456789abcdef0123456789abcdef", "flotilla.container-name": "web" },
    state: "running",
    imageId: "sha256:aaaa",
    createdAt: T0 + 2100,
    ipAddresses: { bridge: "172.17.0.5" },
    mounts: [{ name: "data", source: "/var/lib/docker/volumes/data/_data", destination: "/data" }],
  },
  "07e1": { id: "07e1", name: "flotilla-0123456789abcdef0123456789abcdef-otel", labels: {}, state: "running", imageId: "sha256:bbbb", ipAddresses: { bridge: "172.17.0.6" } },
};

const statsOf = (id: string): ContainerStats => ({ id, read: "2026-01-02T03:04:10Z", cpu_stats: { cpu_usage: { total_usage: 5 } }, precpu_stats: { cpu_usage: { total_usage: 3 } }, memory_stats: { usage: 7 } });

function app(tasks: AgentTask[], runtime: Partial<TaskMetadataSource["runtime"]> = {}) {
  const src: TaskMetadataSource = {
    context: { clusterName: "edge", availabilityZone: "home-1a" },
    tasks: () => tasks,
    runtime: {
      inspect: async (id) => inspected[id] ?? null,
      stats: async (id) => (inspected[id] ? statsOf(id) : null),
      ...runtime,
    },
  };
  return taskMetadataApp(src);
}

async function get(a: ReturnType<typeof app>, path: string): Promise<{ status: number; body: any }> {
  const res = await a.request(path);
  return { status: res.status, body: await res.json() };
}

describe("v4 container metadata", () => {
  test("the calling container in ECS's shape: ids, image, labels, limits, times, network, log driver, ARN, health", async () => {
    const { status, body } = await get(app([shopTask()]), `/v4/${WEB_ID}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      DockerId: "d0c4e1",
      Name: "web",
      DockerName: "flotilla-0123456789abcdef0123456789abcdef-web",
      Image: "nginx:1.27",
      ImageID: "sha256:aaaa",
      Ports: [{ ContainerPort: 80, Protocol: "tcp", HostPort: 32768, HostIp: "0.0.0.0" }],
      Labels: { "flotilla.task-id": "0123456789abcdef0123456789abcdef", "flotilla.container-name": "web" },
      DesiredStatus: "RUNNING",
      KnownStatus: "RUNNING",
      Limits: { CPU: 256, Memory: 256 },
      CreatedAt: new Date(T0 + 2100).toISOString(),
      StartedAt: new Date(T0 + 3000).toISOString(),
      Type: "NORMAL",
      Networks: [{ NetworkMode: "bridge", IPv4Addresses: ["172.17.0.5"] }],
      Health: { status: "HEALTHY" },
      Volumes: [{ DockerName: "data", Source: "/var/lib/docker/volumes/data/_data", Destination: "/data" }],
      LogDriver: "awslogs",
      // As amazon-ecs-agent's: the options plus the stream ECS names (prefix/container/task-id).
      LogOptions: {
        "awslogs-group": "/shop",
        "awslogs-region": "eu-west-1",
        "awslogs-stream-prefix": "shop",
        "awslogs-stream": "shop/web/0123456789abcdef0123456789abcdef",
      },
      ContainerARN: "arn:aws:ecs:eu-west-1:000000000000:task/edge/0123456789abcdef0123456789abcdef/web",
      RestartCount: 1,
    });
  });

  test("a container without cpu gets ECS's 2-unit minimum and Memory 0 without a hard limit; no Health without a check", async () => {
    const { body } = await get(app([shopTask()]), `/v4/${SIDECAR_ID}`);
    expect(body.Limits).toEqual({ CPU: 2, Memory: 0 });
    expect(body).not.toContainKey("Health");
    expect(body).not.toContainKey("RestartCount");
    expect(body).not.toContainKey("LogDriver");
  });

  test("host mode: the mode with an empty address, as ECS reads it from Docker; awsvpc: the task's address and attachment 0", async () => {
    const withMode = (networkMode: string) => ({
      ...definition,
      networkMode,
      containerDefinitions: definition.containerDefinitions.map((c) => ({ ...c, portMappings: c.portMappings?.map((p) => ({ containerPort: p.containerPort })) })),
    });
    const host = shopTask({ definition: withMode("host") });
    const hostInspect = async (id: string) => (inspected[id] ? { ...inspected[id]!, ipAddresses: {} } : null);
    expect((await get(app([host], { inspect: hostInspect }), `/v4/${WEB_ID}`)).body.Networks).toEqual([{ NetworkMode: "host", IPv4Addresses: [""] }]);
    const vpc = shopTask({ definition: withMode("awsvpc") });
    vpc.containers[0]!.privateIpv4Address = "172.18.0.9";
    expect((await get(app([vpc], { inspect: hostInspect }), `/v4/${WEB_ID}`)).body.Networks).toEqual([
      { NetworkMode: "awsvpc", IPv4Addresses: ["172.18.0.9"], AttachmentIndex: 0 },
    ]);
  });

  test("an inspect that fails leaves out what only Docker knows; the rest still answers", async () => {
    const { status, body } = await get(app([shopTask()], { inspect: async () => Promise.reject(new Error("engine busy")) }), `/v4/${WEB_ID}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ DockerId: "d0c4e1", Name: "web", ImageID: "" });
    expect(body).not.toContainKey("CreatedAt");
  });
});

describe("v4 task metadata", () => {
  test("the task with its containers (not the one still waiting for its image), limits in vCPUs, pull times, EXTERNAL", async () => {
    const { status, body } = await get(app([shopTask()]), `/v4/${SIDECAR_ID}/task`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      Cluster: "edge",
      TaskARN: "arn:aws:ecs:eu-west-1:000000000000:task/edge/0123456789abcdef0123456789abcdef",
      Family: "shop",
      Revision: "7",
      DesiredStatus: "RUNNING",
      KnownStatus: "RUNNING",
      Limits: { CPU: 0.5, Memory: 1024 },
      PullStartedAt: new Date(T0).toISOString(),
      PullStoppedAt: new Date(T0 + 2000).toISOString(),
      AvailabilityZone: "home-1a",
      LaunchType: "EXTERNAL",
      FaultInjectionEnabled: false,
    });
    expect(body.Containers.map((c: any) => [c.Name, c.DockerId, c.ImageID])).toEqual([
      ["web", "d0c4e1", "sha256:aaaa"],
      ["otel", "07e1", "sha256:bbbb"],
    ]);
    // Every container in the list is the same shape as the container endpoint's.
    expect(body.Containers[0]).toEqual((await get(app([shopTask()]), `/v4/${WEB_ID}`)).body);
  });

  test("any container of the task reads the same task, even one not created yet", async () => {
    const a = app([shopTask()]);
    const viaPending = (await get(a, `/v4/${PENDING_ID}/task`)).body;
    expect(viaPending.TaskARN).toBe(shopTask().taskArn);
    expect(viaPending).toEqual((await get(a, `/v4/${WEB_ID}/task`)).body);
    // It has no Docker container yet, so no container metadata of its own (ECS: no docker ID).
    expect((await get(a, `/v4/${PENDING_ID}`)).status).toBe(404);
  });

  test("a stopped task says when it stopped; no task Limits without task cpu/memory", async () => {
    const stopped = shopTask({ desiredStatus: "STOPPED", knownStatus: "STOPPED", stoppedAt: T0 + 9000, definition: { ...definition, cpu: undefined, memory: undefined } });
    const { body } = await get(app([stopped]), `/v4/${WEB_ID}/task`);
    expect(body).toMatchObject({ DesiredStatus: "STOPPED", KnownStatus: "STOPPED", ExecutionStoppedAt: new Date(T0 + 9000).toISOString() });
    expect(body).not.toContainKey("Limits");
  });
});

describe("v3", () => {
  test("the v2 shapes plus Networks: no LaunchType, ContainerARN, log driver or HostIp", async () => {
    const a = app([shopTask()]);
    const c = (await get(a, `/v3/${WEB_ID}`)).body;
    expect(c).toMatchObject({ DockerId: "d0c4e1", Name: "web", Networks: [{ NetworkMode: "bridge", IPv4Addresses: ["172.17.0.5"] }] });
    expect(c.Ports).toEqual([{ ContainerPort: 80, Protocol: "tcp", HostPort: 32768 }]);
    for (const k of ["ContainerARN", "LogDriver", "LogOptions", "RestartCount"]) expect(c).not.toContainKey(k);
    const t = (await get(a, `/v3/${WEB_ID}/task`)).body;
    expect(t).toMatchObject({ Cluster: "edge", Family: "shop", Revision: "7" });
    expect(t).not.toContainKey("LaunchType");
    expect(t).not.toContainKey("FaultInjectionEnabled");
  });
});

describe("an id no container has", () => {
  test("v4 answers 404 on every path, with ECS's text; another task's id reads only that task", async () => {
    const other = shopTask({ taskId: "ffff", taskArn: "arn:aws:ecs:eu-west-1:000000000000:task/edge/ffff", containers: [{ ...shopTask().containers[1]!, metadataId: "11111111-2222-4333-8444-555555555555" }] });
    const a = app([shopTask(), other]);
    const made = "00000000-0000-4000-8000-000000000000";
    for (const path of ["", "/task", "/stats", "/task/stats"]) expect((await get(a, `/v4/${made}${path}`)).status).toBe(404);
    expect((await get(a, `/v4/${made}/task`)).body).toBe(`V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${made}`);
    expect((await get(a, `/v4/${made}`)).body).toBe(`V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: ${made}`);
    expect((await get(a, "/v4/11111111-2222-4333-8444-555555555555/task")).body.TaskARN).toBe("arn:aws:ecs:eu-west-1:000000000000:task/edge/ffff");
  });

  test("v3 answers as amazon-ecs-agent's v3 does: 500 for metadata, 400 for stats", async () => {
    const a = app([shopTask()]);
    expect((await get(a, "/v3/nope")).status).toBe(500);
    expect((await get(a, "/v3/nope/task")).status).toBe(500);
    expect((await get(a, "/v3/nope/stats")).status).toBe(400);
    expect((await get(a, "/v3/nope/task/stats")).status).toBe(400);
  });

  test("a path the endpoint does not have is 404", async () => {
    expect((await get(app([shopTask()]), `/v5/${WEB_ID}`)).status).toBe(404);
    expect((await get(app([shopTask()]), `/v4/${WEB_ID}/tasks/stats`)).status).toBe(404);
  });
});

describe("stats", () => {
  test("a container's stats are the engine's reading unchanged", async () => {
    const { status, body } = await get(app([shopTask()]), `/v4/${WEB_ID}/stats`);
    expect(status).toBe(200);
    expect(body).toEqual(statsOf("d0c4e1"));
    expect((await get(app([shopTask()]), `/v3/${WEB_ID}/stats`)).body).toEqual(statsOf("d0c4e1"));
  });

  test("task stats: Docker id → reading for each created container; one that cannot be read is {} (v4) or null (v3)", async () => {
    const flaky = { stats: async (id: string) => (id === "07e1" ? Promise.reject(new Error("gone")) : statsOf(id)) };
    expect((await get(app([shopTask()], flaky), `/v4/${WEB_ID}/task/stats`)).body).toEqual({ d0c4e1: statsOf("d0c4e1"), "07e1": {} });
    expect((await get(app([shopTask()], flaky), `/v3/${WEB_ID}/task/stats`)).body).toEqual({ d0c4e1: statsOf("d0c4e1"), "07e1": null });
  });

  test("a container whose stats cannot be read is a 500 naming it", async () => {
    const { status, body } = await get(app([shopTask()], { stats: async () => null }), `/v4/${WEB_ID}/stats`);
    expect(status).toBe(500);
    expect(body).toBe("Unable to get container stats for: d0c4e1");
  });
});
