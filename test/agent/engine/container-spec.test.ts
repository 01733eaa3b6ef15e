import { describe, expect, test } from "bun:test";
import { buildContainerSpec, dockerLogConfig, runtimeName, type TaskIdentity } from "../../../agent/engine/container-spec.ts";
import { namespaceOwnerName, namespaceOwnerSpec, TASK_NETWORK } from "../../../agent/engine/task-network.ts";
import { taskVolumes } from "../../../agent/engine/task-volumes.ts";
import { parseTaskDefinition, type TaskDefinitionSpec } from "../../../shared/task-definition/index.ts";

const T: TaskIdentity = { taskId: "0123456789abcdef0123", clusterName: "c", instanceId: "i-1", family: "app", revision: 3 };

function parsed(body: unknown): TaskDefinitionSpec {
  const r = parseTaskDefinition(body);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const one = (c: Record<string, unknown>, task: Record<string, unknown> = {}) => {
  const td = parsed({ family: "app", containerDefinitions: [{ name: "web", image: "nginx", memory: 128, ...c }], ...task });
  return { td, spec: buildContainerSpec(T, td, td.containerDefinitions[0]!) };
};

describe("buildContainerSpec", () => {
  test("a host-side log driver gets its options as written plus its secretOptions' values", () => {
    const td = parsed({
      family: "app",
      containerDefinitions: [
        { name: "web", image: "nginx", memory: 128, logConfiguration: { logDriver: "gelf", options: { "gelf-address": "udp://127.0.0.1:12201" }, secretOptions: [{ name: "tag", valueFrom: "t" }] } },
      ],
    });
    const spec = buildContainerSpec(T, td, td.containerDefinitions[0]!, {}, undefined, undefined, { secretOptions: { tag: "from-secret" } });
    expect(spec.logConfig).toEqual({ type: "gelf", options: { "gelf-address": "udp://127.0.0.1:12201", tag: "from-secret" } });
    expect(spec.env).toBeUndefined();
  });

  test("Docker names carry the whole task id: ids with a common prefix (time-ordered) do not collide", () => {
    const a = "019a4f2c3b7e7c1d8e9f0a1b2c3d4e5f";
    const b = "019a4f2c3b7e7c1d8e9f0a1b2c3d4e60";
    expect(runtimeName(a, "web")).not.toBe(runtimeName(b, "web"));
    expect(namespaceOwnerName(a)).not.toBe(namespaceOwnerName(b));
    expect(runtimeName(a, "web")).toBe(`flotilla-${a}-web`);
  });

  test("process options map one to one", () => {
    const { spec } = one({
      command: ["a", "b"],
      entryPoint: ["/bin/sh", "-c"],
      environment: [{ name: "A", value: "1" }],
      workingDirectory: "/srv",
      user: "1000:1000",
      hostname: "box",
      dockerLabels: { team: "blue" },
      cpu: 256,
      memoryReservation: 64,
      stopTimeout: 9,
    });
    expect(spec).toMatchObject({
      name: "flotilla-0123456789abcdef0123-web",
      command: ["a", "b"],
      entryPoint: ["/bin/sh", "-c"],
      env: { A: "1" },
      workingDirectory: "/srv",
      user: "1000:1000",
      hostname: "box",
      cpuShares: 256,
      memoryMiB: 128,
      memoryReservationMiB: 64,
      stopTimeoutSeconds: 9,
    });
    expect(spec.labels).toMatchObject({ team: "blue", "flotilla.task-id": T.taskId, "flotilla.container-name": "web", "flotilla.task-definition": "app:3" });
  });

  test("stopTimeout defaults to 30 s", () => {
    expect(one({}).spec.stopTimeoutSeconds).toBe(30);
  });

  test("linuxParameters, ulimits, security, DNS and hosts", () => {
    const { spec } = one({
      ulimits: [{ name: "nofile", softLimit: 10, hardLimit: 20 }],
      linuxParameters: {
        initProcessEnabled: true,
        capabilities: { add: ["NET_ADMIN"], drop: ["MKNOD"] },
        devices: [{ hostPath: "/dev/fuse" }, { hostPath: "/dev/zero", containerPath: "/dev/z", permissions: ["read", "mknod"] }],
        sharedMemorySize: 64,
        tmpfs: [{ containerPath: "/run", size: 16, mountOptions: ["noexec"] }],
        maxSwap: 100,
        swappiness: 10,
      },
      readonlyRootFilesystem: true,
      privileged: true,
      dnsServers: ["10.0.0.2"],
      dnsSearchDomains: ["corp.local"],
      extraHosts: [{ hostname: "db", ipAddress: "10.0.0.9" }],
      systemControls: [{ namespace: "net.core.somaxconn", value: "1024" }],
    });
    expect(spec).toMatchObject({
      ulimits: [{ name: "nofile", soft: 10, hard: 20 }],
      init: true,
      capAdd: ["NET_ADMIN"],
      capDrop: ["MKNOD"],
      devices: [
        { hostPath: "/dev/fuse", containerPath: "/dev/fuse", permissions: "rwm" },
        { hostPath: "/dev/zero", containerPath: "/dev/z", permissions: "rm" },
      ],
      shmSizeMiB: 64,
      tmpfs: { "/run": "size=16m,noexec" },
      memorySwapMiB: 228,
      swappiness: 10,
      readonlyRootfs: true,
      privileged: true,
      dnsServers: ["10.0.0.2"],
      dnsSearchDomains: ["corp.local"],
      extraHosts: ["db:10.0.0.9"],
      sysctls: { "net.core.somaxconn": "1024" },
    });
  });

  test("healthCheck carries ECS defaults into seconds", () => {
    const { spec } = one({ healthCheck: { command: ["CMD-SHELL", "true"], startPeriod: 10 } });
    expect(spec.healthCheck).toEqual({ test: ["CMD-SHELL", "true"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 });
  });

  test("bridge ports: absent or 0 hostPort is dynamic, a fixed one is kept", () => {
    const { spec } = one({ portMappings: [{ containerPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: "udp" }] });
    expect(spec.networkMode).toBe("bridge");
    expect(spec.portBindings).toEqual([
      { containerPort: 80, hostPort: 0, protocol: "tcp" },
      { containerPort: 53, hostPort: 5353, protocol: "udp" },
    ]);
  });

  test("host and none modes publish nothing themselves", () => {
    expect(one({ portMappings: [{ containerPort: 80 }] }, { networkMode: "host" }).spec).toMatchObject({ networkMode: "host", portBindings: [] });
    expect(one({}, { networkMode: "none" }).spec).toMatchObject({ networkMode: "none", portBindings: [] });
  });

  test("awsvpc: containers join the namespace holder, which publishes every port at containerPort", () => {
    const td = parsed({
      family: "pod",
      networkMode: "awsvpc",
      containerDefinitions: [
        { name: "web", image: "nginx", memory: 64, portMappings: [{ containerPort: 8080 }] },
        { name: "side", image: "nginx", memory: 64, portMappings: [{ containerPort: 9090, protocol: "udp" }] },
      ],
    });
    const web = buildContainerSpec(T, td, td.containerDefinitions[0]!);
    expect(web.networkMode).toBe(`container:${namespaceOwnerName(T.taskId)}`);
    expect(web.portBindings).toEqual([]);
    const owner = namespaceOwnerSpec(T, td, { image: "flotilla/pause:test", entryPoint: ["/pause"] });
    expect(owner).toMatchObject({ networkMode: "bridge", networkName: TASK_NETWORK });
    expect(owner.portBindings).toEqual([
      { containerPort: 8080, hostPort: 8080, protocol: "tcp" },
      { containerPort: 9090, hostPort: 9090, protocol: "udp" },
    ]);
    expect(owner.labels["flotilla.container-name"]).toBe("~netns");
  });

  test("mount points resolve to host paths, task volumes and shared volumes; volumesFrom to runtime names", () => {
    const td = parsed({
      family: "v",
      volumes: [
        { name: "h", host: { sourcePath: "/srv/data" } },
        { name: "t", dockerVolumeConfiguration: { scope: "task" } },
        { name: "s", dockerVolumeConfiguration: { scope: "shared", autoprovision: true, driver: "local" } },
        { name: "e" },
      ],
      containerDefinitions: [
        { name: "src", image: "nginx", memory: 64 },
        {
          name: "app",
          image: "nginx",
          memory: 64,
          mountPoints: [
            { sourceVolume: "h", containerPath: "/h", readOnly: true },
            { sourceVolume: "t", containerPath: "/t" },
            { sourceVolume: "s", containerPath: "/s" },
            { sourceVolume: "e", containerPath: "/e" },
          ],
          volumesFrom: [{ sourceContainer: "src", readOnly: true }],
        },
      ],
    });
    const spec = buildContainerSpec(T, td, td.containerDefinitions[1]!);
    expect(spec.mounts).toEqual([
      { source: "/srv/data", target: "/h", readOnly: true },
      { source: `flotilla-${T.taskId}-t`, target: "/t", readOnly: false },
      { source: "s", target: "/s", readOnly: false },
      { source: `flotilla-${T.taskId}-e`, target: "/e", readOnly: false },
    ]);
    expect(spec.volumesFrom).toEqual(["flotilla-0123456789abcdef0123-src:ro"]);
    expect(taskVolumes(T.taskId, td).map((v) => [v.spec.name, v.create, v.taskScoped])).toEqual([
      [`flotilla-${T.taskId}-t`, true, true],
      ["s", true, false],
      [`flotilla-${T.taskId}-e`, true, true],
    ]);
  });

  test("logConfiguration reaches the spec", () => {
    const { spec } = one({ logConfiguration: { logDriver: "json-file", options: { "max-size": "10m" } } });
    expect(spec.logConfig).toEqual({ type: "json-file", options: { "max-size": "10m" } });
  });

  test("awslogs (and awsfirelens before its router is placed) keep the log in Docker's store on the host; host-side drivers pass through", () => {
    const awslogs = { logDriver: "awslogs", options: { "awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs" } };
    expect(one({ logConfiguration: awslogs }).spec.logConfig).toBeUndefined();
    expect(dockerLogConfig({ logDriver: "awsfirelens", options: { Name: "cloudwatch" } })).toBeUndefined();
    expect(one({ logConfiguration: { logDriver: "syslog", options: { tag: "app" } } }).spec.logConfig).toEqual({ type: "syslog", options: { tag: "app" } });
  });

  test("links name the linked container's Docker name, alias kept; security options reach the spec", () => {
    const td = parsed({
      family: "wp",
      containerDefinitions: [
        { name: "mysql", image: "mysql", memory: 256 },
        { name: "wordpress", image: "wordpress", memory: 256, links: ["mysql", "mysql:db"], dockerSecurityOptions: ["no-new-privileges"] },
      ],
    });
    const spec = buildContainerSpec(T, td, td.containerDefinitions[1]!, {}, undefined);
    const mysql = buildContainerSpec(T, td, td.containerDefinitions[0]!, {}, undefined).name;
    expect(spec.links).toEqual([`${mysql}:mysql`, `${mysql}:db`]);
    expect(spec.securityOpt).toEqual(["no-new-privileges"]);
  });

  test("pure: secret values and the task cgroup are arguments, and the same arguments give the same spec", () => {
    const td = parsed({ family: "app", containerDefinitions: [{ name: "web", image: "nginx", memory: 128, environment: [{ name: "A", value: "1" }] }] });
    const def = td.containerDefinitions[0]!;
    const a = buildContainerSpec(T, td, def, { DB_PASSWORD: "p" }, "/flotilla/t");
    expect(a.env).toEqual({ A: "1", DB_PASSWORD: "p" });
    expect(a.cgroupParent).toBe("/flotilla/t");
    expect(buildContainerSpec(T, td, def, { DB_PASSWORD: "p" }, "/flotilla/t")).toEqual(a);
    // Without secrets, only the definition's own environment.
    expect(buildContainerSpec(T, td, def).env).toEqual({ A: "1" });
  });
});
