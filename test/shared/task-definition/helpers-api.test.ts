import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  containerPrerequisites,
  containerStartOrder,
  containerStopOrder,
  dockerHealthConfig,
  dynamicPortCount,
  explainUnknownField,
  findDependencyCycle,
  formatPath,
  hostPortOf,
  issuesOf,
  knownFieldsAt,
  networkModeOf,
  readableErrorMap,
  stopTimeoutOf,
  subjectOf,
  taskDefinitionSchema,
  taskReservation,
} from "../../../shared/task-definition/index.ts";
import { accepted, container, task, type Json } from "./helpers.ts";

const dep = (containerName: string, condition = "START") => ({ containerName, condition });
const names = (...cs: Json[]) => ({ containerDefinitions: cs as Array<{ name: string }> });

describe("containerStartOrder", () => {
  test("containers without dependencies keep definition order", () => {
    expect(containerStartOrder(names({ name: "a" }, { name: "b" }, { name: "c" }))).toEqual(["a", "b", "c"]);
  });

  test("dependencies start first, whatever their position", () => {
    const td = accepted(
      task({}, [
        container({ name: "app", dependsOn: [dep("db", "HEALTHY"), dep("migrate", "SUCCESS")] }),
        container({ name: "proxy", dependsOn: [dep("app")] }),
        container({ name: "migrate", essential: false, dependsOn: [dep("db", "HEALTHY")] }),
        container({ name: "db", healthCheck: { command: ["CMD-SHELL", "pg_isready"] } }),
        container({ name: "logs" }),
      ]),
    );
    const order = containerStartOrder(td);
    expect(order).toEqual(["db", "migrate", "app", "proxy", "logs"]);
    expect(containerStopOrder(td)).toEqual([...order].reverse());
  });

  test("volumesFrom sources start before the containers that use them", () => {
    const td = { containerDefinitions: [{ name: "app", volumesFrom: [{ sourceContainer: "data" }] }, { name: "data" }] };
    expect(containerStartOrder(td)).toEqual(["data", "app"]);
    expect(containerPrerequisites(td.containerDefinitions[0]!)).toEqual(["data"]);
  });

  test("a diamond is ordered once per container", () => {
    const td = {
      containerDefinitions: [
        { name: "top", dependsOn: [dep("left"), dep("right")] },
        { name: "left", dependsOn: [dep("base")] },
        { name: "right", dependsOn: [dep("base")] },
        { name: "base" },
      ],
    };
    expect(containerStartOrder(td)).toEqual(["base", "left", "right", "top"]);
  });

  test("a cycle throws, naming it; findDependencyCycle returns it", () => {
    const td = { containerDefinitions: [{ name: "a", dependsOn: [dep("b")] }, { name: "b", volumesFrom: [{ sourceContainer: "a" }] }] };
    expect(findDependencyCycle(td)).toEqual(["a", "b", "a"]);
    expect(() => containerStartOrder(td)).toThrow("container dependencies form a cycle: a → b → a");
  });

  test("unknown names and self references are ignored by the graph helpers", () => {
    const td = { containerDefinitions: [{ name: "a", dependsOn: [dep("a"), dep("ghost")] }, { name: "b" }] };
    expect(findDependencyCycle(td)).toBeNull();
    expect(containerStartOrder(td)).toEqual(["a", "b"]);
  });
});

describe("taskReservation", () => {
  test("bridge: static host ports are reserved, dynamic ones are counted", () => {
    const td = accepted(
      task({}, [
        container({ cpu: 100, memory: 256, portMappings: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 82, hostPort: 0 }] }),
        container({ name: "dns", cpu: 50, memory: 64, portMappings: [{ containerPort: 53, hostPort: 5353, protocol: "udp" }, { containerPort: 54, protocol: "udp" }] }),
      ]),
    );
    expect(taskReservation(td)).toEqual({ cpu: 150, memory: 320, tcpPorts: [8080], udpPorts: [5353] });
    expect(dynamicPortCount(td)).toEqual({ tcp: 2, udp: 1 });
  });

  test("host and awsvpc: every containerPort is reserved and nothing is dynamic", () => {
    for (const networkMode of ["host", "awsvpc"]) {
      const td = accepted(task({ networkMode }, [container({ portMappings: [{ containerPort: 80 }, { containerPort: 53, protocol: "udp" }] })]));
      expect(taskReservation(td)).toEqual({ cpu: 0, memory: 128, tcpPorts: [80], udpPorts: [53] });
      expect(dynamicPortCount(td)).toEqual({ tcp: 0, udp: 0 });
    }
  });

  test("also for a spec that was not normalised (hostPort absent in awsvpc)", () => {
    const td = taskDefinitionSchema.parse(task({ networkMode: "awsvpc" }, [container({ portMappings: [{ containerPort: 8080 }] })]));
    const raw = { ...td, containerDefinitions: td.containerDefinitions.map((c) => ({ ...c, portMappings: [{ containerPort: 8080, protocol: "tcp" as const }] })) };
    expect(taskReservation(raw).tcpPorts).toEqual([8080]);
  });

  test("task-level cpu/memory win over the containers' sums", () => {
    const td = accepted(task({ cpu: "0.5 vCPU", memory: "1 GB" }, [container({ cpu: 100, memory: 256 })]));
    expect(taskReservation(td)).toMatchObject({ cpu: 512, memory: 1024 });
  });

  test("a container reserves its memoryReservation when it has one, as ECS does", () => {
    const td = accepted(task({}, [container({ memory: 512, memoryReservation: 128 }), container({ name: "b", memory: 64 })]));
    expect(taskReservation(td).memory).toBe(192);
  });

  test("the issue's Fargate example reserves its task size and port 80 nothing else", () => {
    const td = accepted({
      family: "webserver",
      containerDefinitions: [{ name: "web", image: "nginx", memory: "100", cpu: "99", portMappings: [{ containerPort: 80 }] }],
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      memory: "512",
      cpu: "256",
    });
    expect(taskReservation(td)).toEqual({ cpu: 256, memory: 512, tcpPorts: [80], udpPorts: [] });
  });
});

describe("network helpers", () => {
  test("networkModeOf defaults to bridge; hostPortOf follows ECS", () => {
    expect(networkModeOf({})).toBe("bridge");
    expect(networkModeOf({ networkMode: "host" })).toBe("host");
    expect(hostPortOf("bridge", { containerPort: 80 })).toBe(0);
    expect(hostPortOf("bridge", { containerPort: 80, hostPort: 8080 })).toBe(8080);
    expect(hostPortOf("awsvpc", { containerPort: 80 })).toBe(80);
    expect(hostPortOf("host", { containerPort: 80, hostPort: 80 })).toBe(80);
    expect(hostPortOf("none", { containerPort: 80 })).toBe(0);
  });
});

describe("docker helpers", () => {
  test("dockerHealthConfig converts seconds to nanoseconds", () => {
    expect(dockerHealthConfig({ command: ["CMD", "true"], interval: 30, timeout: 5, retries: 3, startPeriod: 10 })).toEqual({
      Test: ["CMD", "true"],
      Interval: 30e9,
      Timeout: 5e9,
      Retries: 3,
      StartPeriod: 10e9,
    });
    expect(dockerHealthConfig({ command: ["NONE"], interval: 30, timeout: 5, retries: 3 })).toEqual({ Test: ["NONE"] });
  });

  test("stopTimeoutOf defaults to 30 seconds", () => {
    expect(stopTimeoutOf({})).toBe(30);
    expect(stopTimeoutOf({ stopTimeout: 90 })).toBe(90);
  });
});

describe("issues helpers", () => {
  test("formatPath and subjectOf", () => {
    expect(formatPath(["containerDefinitions", 0, "portMappings", 1, "hostPort"])).toBe("containerDefinitions[0].portMappings[1].hostPort");
    expect(formatPath([])).toBe("(body)");
    expect(subjectOf(["containerDefinitions", 0, "command", 2])).toBe("command[2]");
    expect(subjectOf([])).toBe("The task definition");
  });

  test("issuesOf reports each unknown field of any strict schema at its own path", () => {
    const schema = z.strictObject({ clusterName: z.string() });
    const r = schema.safeParse({ clusterName: "edge", colour: "red", size: 1 });
    expect(r.success).toBe(false);
    expect(issuesOf(r.error!)).toEqual([
      { path: "colour", message: "colour is not a known field; check its spelling or remove it." },
      { path: "size", message: "size is not a known field; check its spelling or remove it." },
    ]);
  });

  test("readableErrorMap can be used with other schemas", () => {
    const schema = z.strictObject({ count: z.number().int().min(1), name: z.string() });
    const r = schema.safeParse({ count: 0 }, { error: readableErrorMap });
    expect(issuesOf(r.error!)).toEqual([
      { path: "count", message: "count must be at least 1." },
      { path: "name", message: "name is required." },
    ]);
  });

  test("knownFieldsAt and explainUnknownField walk the schema", () => {
    expect(knownFieldsAt(taskDefinitionSchema, ["containerDefinitions", 3, "healthCheck"]).sort()).toEqual(["command", "interval", "retries", "startPeriod", "timeout"]);
    expect(knownFieldsAt(taskDefinitionSchema, ["volumes", 0, "dockerVolumeConfiguration"])).toContain("autoprovision");
    expect(knownFieldsAt(taskDefinitionSchema, ["nope"])).toEqual([]);
    expect(explainUnknownField("memroy", ["containerDefinitions", 0])).toBe("memroy is not a known field in containerDefinitions[0]; did you mean memory?");
    expect(explainUnknownField("environmentFiles", ["containerDefinitions", 0])).toContain("S3");
  });
});
