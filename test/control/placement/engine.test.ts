import { describe, expect, test } from "bun:test";
import { ClusterIndex } from "../../../control/placement/cluster-index.ts";
import { placeTasks } from "../../../control/placement/engine.ts";
import { seededRng } from "../../../control/placement/seeded-rng.ts";
import type { InstanceView, PlacementRequest } from "../../../control/placement/types.ts";
import { instance, request, tally } from "./fixtures.ts";

const res = (cpu: number, memory: number, tcpPorts: number[] = [], udpPorts: number[] = []) => ({ cpu, memory, tcpPorts, udpPorts });
const zoned = (id: string, zone: string, o: Parameters<typeof instance>[1] = {}) =>
  instance(id, { ...o, attributes: { "ecs.cpu-architecture": "x86_64", zone, hostname: `h-${id}`, ...o.attributes } });

/** Places, then commits every placement to the index, as the control service does. */
function placeAndCommit(index: ClusterIndex, req: PlacementRequest, seed = 1) {
  const result = placeTasks(index, req, { rng: seededRng(seed) });
  for (const p of result.placements) index.reserve(p.instanceId, req.reservation, req.group);
  return result;
}

describe("multi-task requests", () => {
  test("each task sees the resources taken by the earlier ones", () => {
    const result = placeTasks([instance("a", { registered: { cpu: 4096, memory: 1024 } })], request({ count: 3, reservation: res(100, 512) }));
    expect(result.placements).toEqual([{ instanceId: "a" }, { instanceId: "a" }]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.reason).toBe("RESOURCE:MEMORY");
  });

  test("each task sees the ports taken by the earlier ones", () => {
    const result = placeTasks([instance("a"), instance("b")], request({ count: 3, reservation: res(1, 1, [8080]) }));
    expect(tally(result.placements)).toEqual({ a: 1, b: 1 });
    expect(result.failures.map((f) => f.reason)).toEqual(["RESOURCE:PORTS"]);
  });

  test("tasks after the first failure fail the same way, each with its own entry", () => {
    const result = placeTasks([instance("a", { registered: { cpu: 300, memory: 8192 } })], request({ count: 4, reservation: res(200, 1) }));
    expect(result.placements).toHaveLength(1);
    expect(result.failures).toHaveLength(3);
    for (const f of result.failures) expect(f).toEqual(result.failures[0]!);
    expect(result.failures[0]).not.toBe(result.failures[1]);
  });

  test("count 0 places nothing", () => {
    expect(placeTasks([instance("a")], request({ count: 0 }))).toMatchObject({ placements: [], failures: [] });
  });
});

describe("does not change its input", () => {
  test("the index is untouched; the caller commits with reserve", () => {
    const index = ClusterIndex.from([zoned("a", "z1"), zoned("b", "z2", { groups: { "family:web": 1 } })]);
    const snapshot = [...index.instances()].map((i) => structuredClone(i));
    const tallyBefore = new Map(index.spreadTally("family:web", "attribute:zone"));
    const result = placeTasks(index, request({ count: 5, reservation: res(100, 100, [9000]), strategies: [{ type: "spread", field: "attribute:zone" }] }));
    expect(result.placements.length).toBeGreaterThan(0);
    expect([...index.instances()]).toEqual(snapshot);
    expect(new Map(index.spreadTally("family:web", "attribute:zone"))).toEqual(tallyBefore);
  });

  test("a plain array of instances is not modified either", () => {
    const list = [instance("a"), instance("b")];
    const snapshot = structuredClone(list);
    placeTasks(list, request({ count: 4 }));
    expect(list).toEqual(snapshot);
  });
});

describe("default placement (no strategy)", () => {
  test("spreads the group across instances", () => {
    const result = placeTasks(["a", "b", "c", "d"].map((id) => instance(id)), request({ count: 8 }));
    expect(tally(result.placements)).toEqual({ a: 2, b: 2, c: 2, d: 2 });
  });

  test("counts tasks of the group already running", () => {
    const result = placeTasks([instance("a", { groups: { "family:web": 2 } }), instance("b")], request({ count: 2 }));
    expect(tally(result.placements)).toEqual({ b: 2 });
  });

  test("ties go to the instance with fewer running tasks, then more free memory, then the lower id", () => {
    const busy = instance("a", { groups: { "family:other": 3 } });
    const small = instance("b", { remaining: { cpu: 4096, memory: 2048 } });
    const big = instance("c");
    const twin = instance("d");
    expect(placeTasks([busy, small, big, twin], request()).placements).toEqual([{ instanceId: "c" }]);
  });
});

describe("spread", () => {
  test("by attribute balances zones, then instances within a zone", () => {
    const instances = [zoned("a1", "z1"), zoned("a2", "z1"), zoned("b1", "z2"), zoned("b2", "z2"), zoned("c1", "z3"), zoned("c2", "z3")];
    const result = placeTasks(
      instances,
      request({
        count: 9,
        strategies: [
          { type: "spread", field: "attribute:zone" },
          { type: "spread", field: "instanceId" },
        ],
      }),
    );
    const perZone: Record<string, number> = {};
    for (const p of result.placements) perZone[p.instanceId[0]!] = (perZone[p.instanceId[0]!] ?? 0) + 1;
    expect(perZone).toEqual({ a: 3, b: 3, c: 3 });
    expect(Math.max(...Object.values(tally(result.placements)))).toBe(2);
  });

  test("by attribute accounts for the group's existing tasks per zone", () => {
    const index = ClusterIndex.from([zoned("a", "z1", { groups: { "service:api": 3 } }), zoned("b", "z2"), zoned("c", "z2")]);
    const result = placeTasks(index, request({ group: "service:api", count: 3, strategies: [{ type: "spread", field: "attribute:zone" }] }));
    // z1 already holds three tasks of the group, so z2 takes the next three.
    expect(result.placements.map((p) => p.instanceId).sort()).toEqual(["b", "b", "c"]);
  });

  test("one task at a time, committed in between, stays even", () => {
    const index = ClusterIndex.from(["a", "b", "c"].map((id) => instance(id)));
    for (let k = 0; k < 9; k++) placeAndCommit(index, request({ group: "service:web" }), k);
    expect([...index.instances()].map((i) => i.groups.get("service:web"))).toEqual([3, 3, 3]);
  });

  test("by host spreads over host names", () => {
    const twins = [instance("a", { attributes: { hostname: "same" } }), instance("b", { attributes: { hostname: "same" } }), instance("c", { attributes: { hostname: "other" } })];
    const result = placeTasks(twins, request({ count: 2, strategies: [{ type: "spread", field: "host" }] }));
    expect(result.placements.map((p) => p.instanceId)).toContain("c");
  });

  test("evenness holds on a large, sampled cluster", () => {
    const zones = ["z1", "z2", "z3"];
    const index = ClusterIndex.from(Array.from({ length: 1500 }, (_, n) => zoned(`i${String(n).padStart(4, "0")}`, zones[n % 3]!)));
    for (let k = 0; k < 60; k++) {
      placeAndCommit(
        index,
        request({
          group: "service:big",
          count: 10,
          reservation: res(10, 10),
          strategies: [
            { type: "spread", field: "attribute:zone" },
            { type: "spread", field: "instanceId" },
          ],
        }),
        k,
      );
    }
    const tallyByZone = index.spreadTally("service:big", "attribute:zone");
    expect([...tallyByZone.values()].sort()).toEqual([200, 200, 200]);
    const perInstance = [...index.instances()].map((i) => i.groups.get("service:big") ?? 0);
    // 600 tasks over 1500 instances: sampling finds an empty instance every time.
    expect(Math.max(...perInstance)).toBe(1);
  });
});

describe("binpack", () => {
  const pack = (field: "cpu" | "memory") => [{ type: "binpack" as const, field }];

  test("memory: the instance with the least memory left that still fits", () => {
    const instances = [
      instance("roomy", { remaining: { cpu: 4096, memory: 8000 } }),
      instance("snug", { remaining: { cpu: 4096, memory: 600 } }),
      instance("tooSmall", { remaining: { cpu: 4096, memory: 400 } }),
    ];
    expect(placeTasks(instances, request({ reservation: res(1, 512), strategies: pack("memory") })).placements).toEqual([{ instanceId: "snug" }]);
  });

  test("cpu: the instance with the least cpu left", () => {
    const instances = [instance("a", { remaining: { cpu: 3000, memory: 100 } }), instance("b", { remaining: { cpu: 1000, memory: 8000 } })];
    expect(placeTasks(instances, request({ reservation: res(10, 10), strategies: pack("cpu") })).placements).toEqual([{ instanceId: "b" }]);
  });

  test("fills one instance before opening the next", () => {
    const result = placeTasks(
      [instance("a"), instance("b"), instance("c")],
      request({ count: 5, reservation: res(1, 2048), strategies: pack("memory") }),
    );
    expect(tally(result.placements)).toEqual({ a: 4, b: 1 });
  });

  test("one RunTask packs onto one host even when the cluster is sampled", () => {
    const index = ClusterIndex.from(Array.from({ length: 500 }, (_, n) => instance(`i${n}`)));
    const result = placeTasks(index, request({ count: 10, reservation: res(10, 100), strategies: pack("memory") }), { rng: seededRng(5) });
    expect(Object.keys(tally(result.placements))).toHaveLength(1);
  });

  test("spread then binpack: balance zones, pack within each", () => {
    const instances = [zoned("a1", "z1"), zoned("a2", "z1"), zoned("b1", "z2"), zoned("b2", "z2")];
    const result = placeTasks(
      instances,
      request({
        count: 4,
        reservation: res(1, 1024),
        strategies: [
          { type: "spread", field: "attribute:zone" },
          { type: "binpack", field: "memory" },
        ],
      }),
    );
    expect(tally(result.placements)).toEqual({ a1: 2, b1: 2 });
  });
});

describe("random", () => {
  test("places only on feasible instances and reaches all of them", () => {
    const instances = [instance("a"), instance("b"), instance("c"), instance("full", { remaining: { cpu: 0, memory: 0 } })];
    const rng = seededRng(11);
    const seen: Record<string, number> = {};
    for (let k = 0; k < 300; k++) {
      const [p] = placeTasks(instances, request({ strategies: [{ type: "random" }] }), { rng }).placements;
      seen[p!.instanceId] = (seen[p!.instanceId] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).toEqual(["a", "b", "c"]);
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(70);
  });
});

describe("determinism", () => {
  const cluster = () => ClusterIndex.from(Array.from({ length: 400 }, (_, n) => zoned(`i${n}`, `z${n % 4}`)));
  const req = request({ count: 10, reservation: res(10, 10), strategies: [{ type: "random" }] });

  test("the same seed gives the same placements", () => {
    const a = placeTasks(cluster(), req, { rng: seededRng(42) });
    const b = placeTasks(cluster(), req, { rng: seededRng(42) });
    expect(a.placements).toEqual(b.placements);
  });

  test("a different seed gives different placements", () => {
    const a = placeTasks(cluster(), req, { rng: seededRng(42) });
    const b = placeTasks(cluster(), req, { rng: seededRng(43) });
    expect(a.placements).not.toEqual(b.placements);
  });
});

describe("distinctInstance", () => {
  const distinct = [{ type: "distinctInstance" as const }];

  test("every task of the request on a different instance", () => {
    const result = placeTasks([instance("a"), instance("b"), instance("c")], request({ count: 3, constraints: distinct, strategies: [{ type: "binpack", field: "memory" }] }));
    expect(Object.keys(tally(result.placements)).sort()).toEqual(["a", "b", "c"]);
  });

  test("instances already running the group are excluded, and the overflow fails with counts", () => {
    const result = placeTasks([instance("a", { groups: { "family:web": 1 } }), instance("b"), instance("c")], request({ count: 3, constraints: distinct }));
    expect(tally(result.placements)).toEqual({ b: 1, c: 1 });
    expect(result.failures).toEqual([
      {
        reason: "DistinctInstance placement constraint unsatisfied",
        detail: expect.stringContaining("of 3 instances"),
        rejected: { "DistinctInstance placement constraint unsatisfied": 3 },
      },
    ]);
  });
});

describe("ports", () => {
  test("a used tcp port blocks tcp, not udp", () => {
    const busy = [instance("a", { tcp: [53] })];
    expect(placeTasks(busy, request({ reservation: res(1, 1, [53]) })).failures[0]?.reason).toBe("RESOURCE:PORTS");
    expect(placeTasks(busy, request({ reservation: res(1, 1, [], [53]) })).placements).toEqual([{ instanceId: "a" }]);
  });

  test("a used udp port blocks udp, not tcp", () => {
    const busy = [instance("a", { udp: [5353] })];
    expect(placeTasks(busy, request({ reservation: res(1, 1, [], [5353]) })).failures[0]?.reason).toBe("RESOURCE:PORTS");
    expect(placeTasks(busy, request({ reservation: res(1, 1, [5353]) })).placements).toEqual([{ instanceId: "a" }]);
  });

  test("tcp and udp on the same port number fit on one instance in one request", () => {
    const result = placeTasks([instance("a")], request({ count: 2, reservation: res(1, 1, [53], [53]) }));
    expect(result.placements).toHaveLength(1);
    expect(result.failures[0]?.reason).toBe("RESOURCE:PORTS");
  });
});

describe("constraints and attributes", () => {
  const cluster = () => [zoned("a", "z1"), zoned("b", "z2"), zoned("c", "z3"), instance("pi", { attributes: { "ecs.cpu-architecture": "arm64", zone: "z1" } })];

  test("memberOf restricts placement", () => {
    const result = placeTasks(cluster(), request({ count: 4, constraints: [{ type: "memberOf", expression: "attribute:zone in [z2, z3]" }] }));
    expect(Object.keys(tally(result.placements)).sort()).toEqual(["b", "c"]);
  });

  test("memberOf on task:group places next to another service", () => {
    const instances = [instance("a"), instance("b", { groups: { "service:db": 1 } })];
    const result = placeTasks(instances, request({ count: 2, constraints: [{ type: "memberOf", expression: "task:group == service:db" }] }));
    expect(tally(result.placements)).toEqual({ b: 2 });
  });

  test("cpu architecture keeps arm64 tasks on the Pi and x86 tasks off it", () => {
    expect(tally(placeTasks(cluster(), request({ count: 2, cpuArchitecture: "ARM64" })).placements)).toEqual({ pi: 2 });
    const x86 = placeTasks(cluster(), request({ count: 6, cpuArchitecture: "X86_64" }));
    expect(tally(x86.placements).pi).toBeUndefined();
  });

  test("requiredAttributes", () => {
    const instances = [instance("a"), instance("b", { attributes: { gpu: "yes" } })];
    expect(placeTasks(instances, request({ requiredAttributes: [{ name: "gpu" }] })).placements).toEqual([{ instanceId: "b" }]);
    expect(placeTasks(instances, request({ requiredAttributes: [{ name: "gpu", value: "no" }] })).failures[0]?.reason).toBe("ATTRIBUTE");
  });

  test("narrowing by attribute never loses an instance the full checks would accept", () => {
    const index = ClusterIndex.from(Array.from({ length: 300 }, (_, n) => zoned(`i${n}`, `z${n % 10}`)));
    index.patch("i7", { status: "DRAINING" });
    const result = placeTasks(
      index,
      request({ count: 10, reservation: res(1, 1), constraints: [{ type: "memberOf", expression: "attribute:zone == z7 and runningTasksCount == 0" }] }),
      { rng: seededRng(3) },
    );
    expect(result.failures).toEqual([]);
    for (const p of result.placements) expect(index.get(p.instanceId)!.attributes.zone).toBe("z7");
    expect(result.placements.map((p) => p.instanceId)).not.toContain("i7");
  });

  test("an expression that does not parse refuses placement with the parse error, never throws", () => {
    const result = placeTasks([instance("a")], request({ constraints: [{ type: "memberOf", expression: "attribute:zone = z1" }] }));
    expect(result.failures[0]?.reason).toBe("MemberOf placement constraint unsatisfied");
    expect(result.failures[0]?.detail).toContain("position 15");
  });
});

describe("failures", () => {
  const mixed = (): InstanceView[] => [
    instance("draining", { status: "DRAINING" }),
    instance("offline", { agentConnected: false }),
    instance("sick", { healthStatus: "IMPAIRED" }),
    instance("pi", { attributes: { "ecs.cpu-architecture": "arm64" } }),
    instance("full", { remaining: { cpu: 4096, memory: 100 } }),
    instance("busy", { remaining: { cpu: 10, memory: 8192 } }),
  ];

  test("one entry per unplaced task, the reason from the last stage reached, every filter counted", () => {
    const result = placeTasks(mixed(), request({ count: 2, cpuArchitecture: "X86_64", reservation: res(256, 512) }));
    expect(result.placements).toEqual([]);
    expect(result.failures).toHaveLength(2);
    expect(result.failures[0]!.reason).toBe("RESOURCE:CPU"); // cpu and memory refused one each; cpu is earlier in the chain
    expect(result.failures[0]!.rejected).toEqual({ AGENT: 3, ATTRIBUTE: 1, "RESOURCE:CPU": 1, "RESOURCE:MEMORY": 1 });
  });

  test("the most common reason within the last stage wins", () => {
    const result = placeTasks([...mixed(), instance("full2", { remaining: { cpu: 4096, memory: 100 } })], request({ cpuArchitecture: "X86_64", reservation: res(256, 512) }));
    expect(result.failures[0]!.reason).toBe("RESOURCE:MEMORY");
  });

  test("rejections explain every instance for a failed task", () => {
    const result = placeTasks(mixed(), request({ cpuArchitecture: "X86_64", reservation: res(256, 512) }));
    expect(Object.fromEntries(result.rejections)).toEqual({
      draining: "AGENT",
      offline: "AGENT",
      sick: "AGENT",
      pi: "ATTRIBUTE",
      full: "RESOURCE:MEMORY",
      busy: "RESOURCE:CPU",
    });
  });

  test("rejections for a placed task name the instances passed over", () => {
    const result = placeTasks([instance("ok"), instance("full", { remaining: { cpu: 0, memory: 0 } })], request());
    expect(result.placements).toEqual([{ instanceId: "ok" }]);
    expect(Object.fromEntries(result.rejections)).toEqual({ full: "RESOURCE:CPU" });
  });

  test("all instances draining", () => {
    const result = placeTasks([instance("a", { status: "DRAINING" }), instance("b", { status: "DRAINING" })], request());
    expect(result.failures[0]).toMatchObject({ reason: "AGENT", rejected: { AGENT: 2 } });
  });

  test("an empty cluster", () => {
    expect(placeTasks([], request({ count: 2 })).failures.map((f) => f.reason)).toEqual(["MISSING", "MISSING"]);
  });

  test("a nearly full large cluster still finds the last free instance", () => {
    const index = ClusterIndex.from(Array.from({ length: 2000 }, (_, n) => instance(`i${n}`, { remaining: { cpu: n === 1234 ? 4096 : 0, memory: 8192 } })));
    const result = placeTasks(index, request({ count: 2, reservation: res(4096, 1) }), { rng: seededRng(9) });
    expect(result.placements).toEqual([{ instanceId: "i1234" }]);
    expect(result.failures[0]).toMatchObject({ reason: "RESOURCE:CPU", rejected: { "RESOURCE:CPU": 2000 } });
  });
});

describe("sampleLimit", () => {
  test("scoring every candidate finds the global binpack optimum", () => {
    const index = ClusterIndex.from(Array.from({ length: 1000 }, (_, n) => instance(`i${n}`, { remaining: { cpu: 4096, memory: 1000 + ((n * 7919) % 7000) } })));
    const best = [...index.instances()].reduce((a, b) => (b.remaining.memory < a.remaining.memory ? b : a));
    const result = placeTasks(index, request({ reservation: res(1, 1), strategies: [{ type: "binpack", field: "memory" }] }), { sampleLimit: 1000 });
    expect(result.placements).toEqual([{ instanceId: best.id }]);
  });
});
