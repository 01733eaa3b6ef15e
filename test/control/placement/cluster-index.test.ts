import { describe, expect, test } from "bun:test";
import { ClusterIndex } from "../../../control/placement/cluster-index.ts";
import { instance } from "./fixtures.ts";

const res = (cpu: number, memory: number, tcpPorts: number[] = [], udpPorts: number[] = []) => ({ cpu, memory, tcpPorts, udpPorts });
const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id).sort();

describe("ClusterIndex", () => {
  test("keeps its own copy of what it is given", () => {
    const input = instance("a", { attributes: { zone: "z1" } });
    const index = ClusterIndex.from([input]);
    input.remaining.cpu = 0;
    input.attributes.zone = "z9";
    input.usedPorts.tcp.add(80);
    expect(index.get("a")!.remaining.cpu).toBe(4096);
    expect(index.get("a")!.attributes.zone).toBe("z1");
    expect(index.get("a")!.usedPorts.tcp.size).toBe(0);
  });

  test("schedulable holds only ACTIVE, connected, non-IMPAIRED instances", () => {
    const index = ClusterIndex.from([
      instance("ok"),
      instance("unknown-health", { healthStatus: "UNKNOWN" }),
      instance("draining", { status: "DRAINING" }),
      instance("gone", { agentConnected: false }),
      instance("sick", { healthStatus: "IMPAIRED" }),
    ]);
    expect(index.size).toBe(5);
    expect(ids(index.schedulable())).toEqual(["ok", "unknown-health"]);
  });

  test("patch moves an instance in and out of the schedulable set", () => {
    const index = ClusterIndex.from([instance("a"), instance("b")]);
    expect(index.patch("a", { status: "DRAINING" })).toBe(true);
    expect(ids(index.schedulable())).toEqual(["b"]);
    index.patch("a", { status: "ACTIVE" });
    expect(ids(index.schedulable())).toEqual(["a", "b"]);
    expect(index.patch("nope", { status: "ACTIVE" })).toBe(false);
  });

  test("remove forgets the instance everywhere", () => {
    const index = ClusterIndex.from([instance("a", { attributes: { zone: "z1" }, groups: { g: 1 } })]);
    expect(index.schedulableWithAttribute("zone", "z1")).toHaveLength(1);
    expect(index.remove("a")).toBe(true);
    expect(index.get("a")).toBeUndefined();
    expect(index.schedulable()).toHaveLength(0);
    expect(index.schedulableWithAttribute("zone", "z1")).toHaveLength(0);
    expect(index.groupHosts("g").size).toBe(0);
    expect(index.remove("a")).toBe(false);
  });

  test("attribute postings follow upserts, patches and status changes", () => {
    const index = ClusterIndex.from([instance("a", { attributes: { zone: "z1" } }), instance("b", { attributes: { zone: "z2" } })]);
    expect(ids(index.schedulableWithAttribute("zone", "z1"))).toEqual(["a"]);
    index.patch("b", { attributes: { zone: "z1" } });
    expect(ids(index.schedulableWithAttribute("zone", "z1"))).toEqual(["a", "b"]);
    expect(index.schedulableWithAttribute("zone", "z2")).toHaveLength(0);
    index.patch("a", { agentConnected: false });
    expect(ids(index.schedulableWithAttribute("zone", "z1"))).toEqual(["b"]);
    index.upsert(instance("c", { attributes: { zone: "z1" } }));
    expect(ids(index.schedulableWithAttribute("zone", "z1"))).toEqual(["b", "c"]);
  });

  test("reserve and release are exact inverses", () => {
    const index = ClusterIndex.from([instance("a")]);
    const before = structuredClone(index.get("a")!);
    index.reserve("a", res(512, 1024, [80], [53]), "service:web");
    const a = index.get("a")!;
    expect(a.remaining).toEqual({ cpu: 4096 - 512, memory: 8192 - 1024 });
    expect([...a.usedPorts.tcp]).toEqual([80]);
    expect([...a.usedPorts.udp]).toEqual([53]);
    expect(a.groups.get("service:web")).toBe(1);
    expect(a.runningTasksCount).toBe(1);
    expect(index.groupHosts("service:web").get("a")).toBe(1);

    index.release("a", res(512, 1024, [80], [53]), "service:web");
    expect(index.get("a")).toEqual(before);
    expect(index.groupHosts("service:web").size).toBe(0);
  });

  test("reserve records the committed row version when given", () => {
    const index = ClusterIndex.from([instance("a", { version: 4 })]);
    index.reserve("a", res(1, 1), "g");
    expect(index.get("a")!.version).toBe(4);
    index.reserve("a", res(1, 1), "g", 6);
    expect(index.get("a")!.version).toBe(6);
    expect(index.reserve("missing", res(1, 1), "g")).toBe(false);
  });

  test("releasing a task that was never reserved cannot push counts below zero", () => {
    const index = ClusterIndex.from([instance("a")]);
    index.release("a", res(100, 100), "g");
    expect(index.get("a")!.remaining).toEqual({ cpu: 4096, memory: 8192 });
    expect(index.get("a")!.runningTasksCount).toBe(0);
  });

  test("spread tallies stay current through reserve, release, patch and remove", () => {
    const index = ClusterIndex.from([
      instance("a", { attributes: { zone: "z1" }, groups: { g: 2 } }),
      instance("b", { attributes: { zone: "z2" } }),
    ]);
    const tally = () => Object.fromEntries(index.spreadTally("g", "attribute:zone"));
    expect(tally()).toEqual({ z1: 2 });
    index.reserve("b", res(1, 1), "g");
    expect(tally()).toEqual({ z1: 2, z2: 1 });
    index.patch("a", { attributes: { zone: "z2" } });
    expect(tally()).toEqual({ z2: 3 });
    index.release("a", res(1, 1), "g");
    expect(tally()).toEqual({ z2: 2 });
    index.remove("a");
    expect(tally()).toEqual({ z2: 1 });
    index.release("b", res(1, 1), "g");
    expect(tally()).toEqual({});
  });

  test("instanceId has no tally (the instance's own count is used)", () => {
    const index = ClusterIndex.from([instance("a", { groups: { g: 1 } })]);
    expect(index.spreadTally("g", "instanceId").size).toBe(0);
  });
});
