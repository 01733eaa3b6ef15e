import { describe, expect, test } from "bun:test";
import { checkAgentConnected, checkHealth, checkStatus } from "../../../control/placement/checkers/agent.ts";
import { checkCpuArchitecture, checkRequiredAttributes } from "../../../control/placement/checkers/attributes.ts";
import { FEASIBILITY_CHAIN, firstRejection, firstRejectionByChain } from "../../../control/placement/checkers/chain.ts";
import { seededRng } from "../../../control/placement/seeded-rng.ts";
import type { PlacementConstraint } from "../../../control/placement/types.ts";
import { checkDistinctInstance, checkMemberOf } from "../../../control/placement/checkers/constraints.ts";
import { checkPorts } from "../../../control/placement/checkers/ports.ts";
import { checkCpu, checkMemory } from "../../../control/placement/checkers/resources.ts";
import { instance, prepared } from "./fixtures.ts";

describe("agent checkers", () => {
  test("status: only ACTIVE instances take tasks", () => {
    expect(checkStatus(instance("a"))).toBeNull();
    for (const status of ["DRAINING", "REGISTERING", "INACTIVE"] as const) {
      expect(checkStatus(instance("a", { status }))).toBe("AGENT");
    }
  });

  test("agentConnected: a disconnected agent gets no tasks", () => {
    expect(checkAgentConnected(instance("a"))).toBeNull();
    expect(checkAgentConnected(instance("a", { agentConnected: false }))).toBe("AGENT");
  });

  test("health: IMPAIRED is refused, UNKNOWN is not", () => {
    expect(checkHealth(instance("a", { healthStatus: "OK" }))).toBeNull();
    expect(checkHealth(instance("a", { healthStatus: "UNKNOWN" }))).toBeNull();
    expect(checkHealth(instance("a", { healthStatus: "IMPAIRED" }))).toBe("AGENT");
  });
});

describe("attribute checkers", () => {
  const arm = instance("pi", { attributes: { "ecs.cpu-architecture": "arm64" } });
  const x86 = instance("box", { attributes: { "ecs.cpu-architecture": "x86_64" } });
  const unknown = instance("mystery", { attributes: {} });

  test("cpu architecture restricts to matching instances", () => {
    expect(checkCpuArchitecture(arm, prepared({ cpuArchitecture: "ARM64" }))).toBeNull();
    expect(checkCpuArchitecture(x86, prepared({ cpuArchitecture: "ARM64" }))).toBe("ATTRIBUTE");
    expect(checkCpuArchitecture(x86, prepared({ cpuArchitecture: "X86_64" }))).toBeNull();
    expect(checkCpuArchitecture(arm, prepared({ cpuArchitecture: "X86_64" }))).toBe("ATTRIBUTE");
  });

  test("cpu architecture: no restriction without runtimePlatform, unknown hosts refused with one", () => {
    expect(checkCpuArchitecture(unknown, prepared())).toBeNull();
    expect(checkCpuArchitecture(unknown, prepared({ cpuArchitecture: "X86_64" }))).toBe("ATTRIBUTE");
  });

  test("cpu architecture accepts Docker's spellings", () => {
    const aarch64 = instance("a", { attributes: { "ecs.cpu-architecture": "aarch64" } });
    expect(checkCpuArchitecture(aarch64, prepared({ cpuArchitecture: "ARM64" }))).toBeNull();
  });

  test("required attributes: presence, and value when given", () => {
    const gpu = instance("g", { attributes: { gpu: "nvidia" } });
    expect(checkRequiredAttributes(gpu, prepared({ requiredAttributes: [{ name: "gpu" }] }))).toBeNull();
    expect(checkRequiredAttributes(gpu, prepared({ requiredAttributes: [{ name: "gpu", value: "nvidia" }] }))).toBeNull();
    expect(checkRequiredAttributes(gpu, prepared({ requiredAttributes: [{ name: "gpu", value: "amd" }] }))).toBe("ATTRIBUTE");
    expect(checkRequiredAttributes(gpu, prepared({ requiredAttributes: [{ name: "ssd" }] }))).toBe("ATTRIBUTE");
  });

  test("inherited object properties are not attributes", () => {
    expect(checkRequiredAttributes(instance("a", { attributes: {} }), prepared({ requiredAttributes: [{ name: "constructor" }] }))).toBe("ATTRIBUTE");
  });
});

describe("constraint checkers", () => {
  test("memberOf: every expression must match", () => {
    const a = instance("a", { attributes: { zone: "z1", tier: "gold" } });
    const one = prepared({ constraints: [{ type: "memberOf", expression: "attribute:zone == z1" }] });
    const two = prepared({
      constraints: [
        { type: "memberOf", expression: "attribute:zone == z1" },
        { type: "memberOf", expression: "attribute:tier == silver" },
      ],
    });
    expect(checkMemberOf(a, one)).toBeNull();
    expect(checkMemberOf(a, two)).toBe("MemberOf placement constraint unsatisfied");
  });

  test("memberOf: an expression that does not parse matches nothing instead of throwing", () => {
    const bad = prepared({ constraints: [{ type: "memberOf", expression: "attribute:zone ==" }] });
    expect(checkMemberOf(instance("a"), bad)).toBe("MemberOf placement constraint unsatisfied");
    expect(bad.memberOfErrors[0]).toContain("position 17");
  });

  test("distinctInstance refuses an instance already running the group", () => {
    const req = prepared({ group: "service:api", constraints: [{ type: "distinctInstance" }] });
    expect(checkDistinctInstance(instance("a"), req)).toBeNull();
    expect(checkDistinctInstance(instance("a", { groups: { "service:other": 3 } }), req)).toBeNull();
    expect(checkDistinctInstance(instance("a", { groups: { "service:api": 1 } }), req)).toBe("DistinctInstance placement constraint unsatisfied");
  });

  test("distinctInstance is off unless asked for", () => {
    expect(checkDistinctInstance(instance("a", { groups: { "family:web": 2 } }), prepared())).toBeNull();
  });
});

describe("resource checkers", () => {
  const small = instance("a", { registered: { cpu: 1024, memory: 1024 }, remaining: { cpu: 300, memory: 600 } });
  const reservation = (cpu: number, memory: number) => ({ cpu, memory, tcpPorts: [], udpPorts: [] });

  test("cpu: remaining must cover the reservation, exactly full is fine", () => {
    expect(checkCpu(small, prepared({ reservation: reservation(300, 1) }))).toBeNull();
    expect(checkCpu(small, prepared({ reservation: reservation(301, 1) }))).toBe("RESOURCE:CPU");
  });

  test("memory: remaining must cover the reservation", () => {
    expect(checkMemory(small, prepared({ reservation: reservation(1, 600) }))).toBeNull();
    expect(checkMemory(small, prepared({ reservation: reservation(1, 601) }))).toBe("RESOURCE:MEMORY");
  });
});

describe("ports checker", () => {
  const busy = instance("a", { tcp: [80, 443], udp: [53] });
  const ports = (tcpPorts: number[], udpPorts: number[]) => prepared({ reservation: { cpu: 1, memory: 1, tcpPorts, udpPorts } });

  test("a used tcp port conflicts only with tcp", () => {
    expect(checkPorts(busy, ports([80], []))).toBe("RESOURCE:PORTS");
    expect(checkPorts(busy, ports([], [80]))).toBeNull();
  });

  test("a used udp port conflicts only with udp", () => {
    expect(checkPorts(busy, ports([], [53]))).toBe("RESOURCE:PORTS");
    expect(checkPorts(busy, ports([53], []))).toBeNull();
  });

  test("free ports and no ports pass", () => {
    expect(checkPorts(busy, ports([8080], [5353]))).toBeNull();
    expect(checkPorts(busy, ports([], []))).toBeNull();
  });
});

describe("chain", () => {
  test("the first failing checker, in chain order, gives the reason", () => {
    const drainingAndFull = instance("a", { status: "DRAINING", remaining: { cpu: 0, memory: 0 } });
    expect(firstRejection(drainingAndFull, prepared())).toBe("AGENT");
    const wrongArchAndFull = instance("b", { attributes: { "ecs.cpu-architecture": "arm64" }, remaining: { cpu: 0, memory: 0 } });
    expect(firstRejection(wrongArchAndFull, prepared({ cpuArchitecture: "X86_64" }))).toBe("ATTRIBUTE");
    const noCpuNoMemory = instance("c", { remaining: { cpu: 0, memory: 0 } });
    expect(firstRejection(noCpuNoMemory, prepared())).toBe("RESOURCE:CPU");
    expect(firstRejection(instance("d"), prepared())).toBeNull();
  });

  test("cheap agent checks run before constraints and resources", () => {
    const names = FEASIBILITY_CHAIN.map((c) => c.name);
    expect(names.indexOf("checkStatus")).toBeLessThan(names.indexOf("checkMemberOf"));
    expect(names.indexOf("checkMemberOf")).toBeLessThan(names.indexOf("checkCpu"));
    expect(names.slice(-2)).toEqual(["checkPorts", "checkGpus"]);
  });

  test("the written-out chain gives the same reason as running FEASIBILITY_CHAIN in turn", () => {
    const rng = seededRng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const constraints: PlacementConstraint[][] = [
      [],
      [{ type: "distinctInstance" }],
      [{ type: "memberOf", expression: "attribute:zone in [a, b]" }],
      [{ type: "memberOf", expression: "task:group != family:db and runningTasksCount < 3" }, { type: "distinctInstance" }],
      [{ type: "memberOf", expression: "attribute:zone ==" }],
    ];
    const seen = new Set<string | null>();
    const refusedBy = new Set<number>();
    for (let n = 0; n < 3000; n++) {
      const view = instance(`i${n}`, {
        status: pick(["ACTIVE", "ACTIVE", "ACTIVE", "DRAINING", "REGISTERING"] as const),
        agentConnected: rng() < 0.9,
        healthStatus: pick(["OK", "OK", "UNKNOWN", "IMPAIRED"] as const),
        attributes: {
          ...(rng() < 0.9 ? { "ecs.cpu-architecture": pick(["x86_64", "arm64", "aarch64"]) } : {}),
          ...(rng() < 0.7 ? { zone: pick(["a", "b", "c"]) } : {}),
          ...(rng() < 0.5 ? { disk: pick(["ssd", "hdd"]) } : {}),
          ...(rng() < 0.2 ? { "flotilla.agent-version-skew": pick(["one-minor-behind", "too-old"]) } : {}),
        },
        remaining: { cpu: pick([0, 128, 512, 4096]), memory: pick([0, 256, 1024, 8192]) },
        tcp: rng() < 0.3 ? [8080] : [],
        udp: rng() < 0.3 ? [53] : [],
        gpus: rng() < 0.3 ? ["g0", "g1"] : [],
        usedGpus: rng() < 0.5 ? ["g0"] : [],
        groups: rng() < 0.4 ? { "family:web": 1, "family:db": pick([0, 1]) } : {},
      });
      const request = prepared({
        reservation: {
          cpu: pick([128, 512]),
          memory: pick([256, 1024]),
          tcpPorts: rng() < 0.3 ? [8080] : [],
          udpPorts: rng() < 0.3 ? [53] : [],
          ...(rng() < 0.3 ? { gpus: pick([1, 2]) } : {}),
        },
        constraints: pick(constraints),
        requiredAttributes: pick([[], [{ name: "disk" }], [{ name: "disk", value: "ssd" }]]),
        ...(rng() < 0.5 ? { cpuArchitecture: pick(["X86_64", "ARM64"] as const) } : {}),
      });
      const reason = firstRejection(view, request);
      expect(reason).toBe(firstRejectionByChain(view, request));
      seen.add(reason);
      refusedBy.add(FEASIBILITY_CHAIN.findIndex((check) => check(view, request) !== null));
    }
    // Every reason, and every checker of the chain, refused somewhere in the sample (and some
    // instance passed): a checker added to the chain but not to the written-out function fails here.
    expect(seen.size).toBe(9);
    expect([...refusedBy].sort((a, b) => a - b)).toEqual([-1, ...FEASIBILITY_CHAIN.keys()]);
  });
});

