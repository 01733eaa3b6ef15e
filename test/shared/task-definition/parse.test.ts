import { describe, expect, test } from "bun:test";
import {
  containerStartOrder,
  parseTaskDefinition,
  taskDefinitionSchema,
  taskReservation,
} from "../../../shared/task-definition/index.ts";
import { accepted, task, container } from "./helpers.ts";

const ISSUE_EXAMPLE = {
  family: "webserver",
  containerDefinitions: [{ name: "web", image: "nginx", memory: "100", cpu: "99" }],
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  memory: "512",
  cpu: "256",
};

/** A realistic definition using most supported fields: an app behind a proxy, with a migration job. */
const RICH = {
  family: "shop-frontend",
  taskRoleArn: "arn:aws:iam::123456789012:role/shop-task",
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  networkMode: "bridge",
  requiresCompatibilities: ["EXTERNAL", "EC2"],
  cpu: "1 vCPU",
  memory: "2 GB",
  pidMode: "task",
  ipcMode: "task",
  runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
  placementConstraints: [{ type: "memberOf", expression: "attribute:ecs.cpu-architecture == arm64" }],
  requiresAttributes: [{ name: "com.amazonaws.ecs.capability.docker-remote-api.1.29" }, { name: "site", value: "berlin", targetType: "container-instance" }],
  tags: [{ key: "team", value: "shop" }],
  ephemeralStorage: { sizeInGiB: 21 },
  inferenceAccelerators: [],
  volumes: [
    { name: "static", host: { sourcePath: "/srv/shop/static" } },
    { name: "scratch", host: {} },
    { name: "cache", dockerVolumeConfiguration: { scope: "shared", autoprovision: true, driver: "local", driverOpts: { type: "tmpfs", device: "tmpfs" }, labels: { app: "shop" } } },
    { name: "uploads", dockerVolumeConfiguration: { driver: "local" } },
  ],
  containerDefinitions: [
    {
      name: "migrate",
      image: "registry.example.com:5000/shop/app:2.4.1",
      essential: false,
      command: ["bin/migrate", "--wait"],
      memoryReservation: "64",
      environment: [{ name: "DATABASE_HOST", value: "db.internal" }],
      secrets: [{ name: "DATABASE_PASSWORD", valueFrom: "shop-db-password" }],
      repositoryCredentials: { credentialsParameter: "registry-example" },
      logConfiguration: { logDriver: "local", options: { "max-size": "10m", "max-file": "3", compress: "true" } },
    },
    {
      name: "app",
      image: "registry.example.com:5000/shop/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      cpu: 768,
      memory: 1024,
      memoryReservation: 512,
      essential: true,
      entryPoint: ["/usr/bin/tini", "--"],
      command: ["bin/server"],
      workingDirectory: "/app",
      user: "1000:1000",
      hostname: "shop-app",
      environment: [{ name: "PORT", value: "3000" }],
      secrets: [{ name: "SESSION_KEY", valueFrom: "shop-session-key" }],
      portMappings: [{ containerPort: 3000, name: "app-http", appProtocol: "http" }],
      dockerLabels: { "com.example.team": "shop" },
      ulimits: [{ name: "nofile", softLimit: 65536, hardLimit: 65536 }, { name: "memlock", softLimit: -1, hardLimit: -1 }],
      linuxParameters: {
        initProcessEnabled: true,
        capabilities: { add: ["SYS_PTRACE"], drop: ["NET_RAW"] },
        devices: [{ hostPath: "/dev/fuse", containerPath: "/dev/fuse", permissions: ["read", "write"] }],
        sharedMemorySize: 128,
        tmpfs: [{ containerPath: "/tmp", size: 64, mountOptions: ["noexec", "nosuid", "mode=1777"] }],
        maxSwap: 0,
        swappiness: 10,
      },
      readonlyRootFilesystem: true,
      privileged: false,
      stopTimeout: 45,
      startTimeout: 120,
      healthCheck: { command: ["CMD-SHELL", "curl -fsS http://localhost:3000/healthz || exit 1"], startPeriod: 20 },
      dependsOn: [{ containerName: "migrate", condition: "SUCCESS" }],
      mountPoints: [
        { sourceVolume: "static", containerPath: "/app/public", readOnly: true },
        { sourceVolume: "cache", containerPath: "/app/cache" },
        { sourceVolume: "uploads", containerPath: "/app/uploads" },
        { sourceVolume: "scratch", containerPath: "/scratch" },
      ],
      logConfiguration: { logDriver: "json-file", options: { "max-size": "20m", "max-file": "5", tag: "{{.Name}}", mode: "non-blocking", "max-buffer-size": "4m" } },
      restartPolicy: { enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 120 },
      interactive: false,
      pseudoTerminal: false,
      dnsServers: ["10.0.0.2", "fd00::53"],
      dnsSearchDomains: ["internal.example.com"],
      extraHosts: [{ hostname: "db.internal", ipAddress: "10.0.0.20" }],
      systemControls: [{ namespace: "net.core.somaxconn", value: "1024" }, { namespace: "kernel.shmmax", value: "68719476736" }],
      versionConsistency: "disabled",
    },
    {
      name: "proxy",
      image: "nginx:1.27-alpine",
      cpu: "256",
      memory: "256",
      portMappings: [
        { containerPort: 80, hostPort: 8080, protocol: "tcp", name: "http" },
        { containerPort: 443, hostPort: 0 },
        { containerPort: 8125, protocol: "udp" },
      ],
      volumesFrom: [{ sourceContainer: "app", readOnly: true }],
      dependsOn: [{ containerName: "app", condition: "HEALTHY" }],
      healthCheck: { command: ["CMD", "wget", "-qO-", "http://localhost/"], interval: 10, timeout: 3, retries: 5 },
      restartPolicy: { enabled: true },
    },
  ],
};

describe("parseTaskDefinition accepts task definitions as ECS users write them", () => {
  test("the issue's Fargate example parses and normalises numeric strings to numbers", () => {
    const td = accepted(ISSUE_EXAMPLE);
    expect(td).toEqual({
      family: "webserver",
      containerDefinitions: [{ name: "web", image: "nginx", memory: 100, cpu: 99, essential: true }],
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      memory: 512,
      cpu: 256,
    });
    expect(typeof td.cpu).toBe("number");
    expect(typeof td.containerDefinitions[0]!.memory).toBe("number");
  });

  test("a rich realistic definition using most fields is accepted and normalised", () => {
    const td = accepted(RICH);
    expect(td.cpu).toBe(1024);
    expect(td.memory).toBe(2048);
    const [migrate, app, proxy] = td.containerDefinitions;
    expect(migrate!.essential).toBe(false);
    expect(migrate!.memoryReservation).toBe(64);
    expect(app!.essential).toBe(true);
    expect(proxy!.essential).toBe(true);
    expect(proxy!.cpu).toBe(256);
    expect(proxy!.memory).toBe(256);
    // Defaults: protocol tcp, healthCheck interval/timeout/retries, restartPolicy period and exit codes, volume scope.
    expect(proxy!.portMappings).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: "tcp", name: "http" },
      { containerPort: 443, hostPort: 0, protocol: "tcp" },
      { containerPort: 8125, protocol: "udp" },
    ]);
    expect(app!.healthCheck).toEqual({
      command: ["CMD-SHELL", "curl -fsS http://localhost:3000/healthz || exit 1"],
      interval: 30,
      timeout: 5,
      retries: 3,
      startPeriod: 20,
    });
    expect(proxy!.healthCheck).toEqual({ command: ["CMD", "wget", "-qO-", "http://localhost/"], interval: 10, timeout: 3, retries: 5 });
    expect(proxy!.restartPolicy).toEqual({ enabled: true, ignoredExitCodes: [], restartAttemptPeriod: 300 });
    expect(app!.restartPolicy).toEqual({ enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 120 });
    expect(td.volumes?.[2]?.dockerVolumeConfiguration?.scope).toBe("shared");
    expect(td.volumes?.[3]?.dockerVolumeConfiguration?.scope).toBe("task");
    // Fields kept as written.
    expect(app!.linuxParameters?.tmpfs?.[0]?.mountOptions).toEqual(["noexec", "nosuid", "mode=1777"]);
    expect(app!.ulimits?.[1]).toEqual({ name: "memlock", softLimit: -1, hardLimit: -1 });
    expect(td.taskRoleArn).toBe(RICH.taskRoleArn);
    expect(td.tags).toEqual([{ key: "team", value: "shop" }]);
    expect(containerStartOrder(td)).toEqual(["migrate", "app", "proxy"]);
    expect(taskReservation(td)).toEqual({ cpu: 1024, memory: 2048, tcpPorts: [8080], udpPorts: [] });
  });

  test("awsvpc and host port mappings get hostPort = containerPort in the output, as ECS reports them", () => {
    for (const networkMode of ["awsvpc", "host"]) {
      const td = accepted(task({ networkMode }, [container({ portMappings: [{ containerPort: 80 }, { containerPort: 53, hostPort: 53, protocol: "udp" }] })]));
      expect(td.containerDefinitions[0]!.portMappings).toEqual([
        { containerPort: 80, hostPort: 80, protocol: "tcp" },
        { containerPort: 53, hostPort: 53, protocol: "udp" },
      ]);
    }
  });

  test("bridge port mappings keep an absent hostPort absent (dynamic)", () => {
    const td = accepted(task({}, [container({ portMappings: [{ containerPort: 80 }] })]));
    expect(td.containerDefinitions[0]!.portMappings).toEqual([{ containerPort: 80, protocol: "tcp" }]);
    expect(td.networkMode).toBeUndefined();
  });

  test("parsing is idempotent: a parsed definition parses again to the same value", () => {
    for (const body of [ISSUE_EXAMPLE, RICH]) {
      const once = accepted(body);
      const twice = accepted(JSON.parse(JSON.stringify(once)));
      expect(twice).toEqual(once);
    }
  });

  test("the input object is not modified", () => {
    const body = JSON.parse(JSON.stringify(ISSUE_EXAMPLE));
    accepted(body);
    expect(body).toEqual(ISSUE_EXAMPLE);
  });

  test("taskDefinitionSchema alone applies the cross-field rules too", () => {
    const r = taskDefinitionSchema.safeParse(task({}, [container({ essential: false })]));
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toEqual([["containerDefinitions"]]);
  });

  test("bodies that are not objects are rejected at (body)", () => {
    for (const body of [null, "x", 42, [], undefined]) {
      const r = parseTaskDefinition(body);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues).toEqual([{ path: "(body)", message: expect.stringMatching(/^The task definition (must be an object|is required)/) }]);
    }
  });

  test("missing required fields are named", () => {
    const r = parseTaskDefinition({});
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues).toEqual([
        { path: "family", message: "family is required." },
        { path: "containerDefinitions", message: "containerDefinitions is required." },
      ]);
    }
  });

  test("null fields count as absent, as in the ECS API (Terraform renders unset fields as null)", () => {
    const td = accepted({
      family: "app",
      cpu: null,
      taskRoleArn: null,
      containerDefinitions: [{ name: "web", image: "nginx", memory: 128, hostname: null, portMappings: [{ containerPort: 80, hostPort: null }], healthCheck: null }],
    });
    expect(td).toEqual({ family: "app", containerDefinitions: [{ name: "web", image: "nginx", memory: 128, essential: true, portMappings: [{ containerPort: 80, protocol: "tcp" }] }] });
    // A null inside a list is still an error.
    const r = parseTaskDefinition(task({}, [container({ command: ["a", null] })]));
    expect(r.ok ? [] : r.issues).toEqual([{ path: "containerDefinitions[0].command[1]", message: "command[1] must be a string, not null." }]);
  });

  test("common image references are accepted", () => {
    for (const image of [
      "nginx",
      "nginx:1.27-alpine",
      "library/nginx:latest",
      "docker.io/library/nginx",
      "localhost:5000/app",
      "registry.example.com:5000/team/app_v2:2024.01.01",
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:sha-abc",
      "public.ecr.aws/nginx/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "flotilla/busybox:test",
      "ghcr.io/owner-name/app:1",
    ]) {
      expect(accepted(task({}, [container({ image })])).containerDefinitions[0]!.image).toBe(image);
    }
  });

  test("deeply nested hostile input is rejected without throwing", () => {
    let deep: unknown = { x: 1 };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const r = parseTaskDefinition({ family: "a", containerDefinitions: [container({ dockerLabels: deep })] });
    expect(r.ok).toBe(false);
  });

  test("bad input never throws, whatever its shape", () => {
    const weird: unknown[] = [
      { family: "a", containerDefinitions: [null] },
      { family: "a", containerDefinitions: [{ name: {}, image: [], portMappings: [null, 1, "x"] }] },
      { family: "a", containerDefinitions: [{ name: "a", image: "b", dependsOn: [{}], healthCheck: { command: [] } }] },
      { family: "a", containerDefinitions: "nope", volumes: [{ host: 1 }], cpu: {}, memory: [] },
      { family: "a", containerDefinitions: [{ name: "a", image: "b", memory: 1e309, cpu: "9".repeat(400) }] },
    ];
    for (const body of weird) expect(parseTaskDefinition(body).ok).toBe(false);
  });
});
