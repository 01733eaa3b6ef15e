import { describe, expect, test } from "bun:test";
import { ClusterIndex } from "../../../control/placement/cluster-index.ts";
import { binpackRanker } from "../../../control/placement/rankers/binpack.ts";
import { rankersFor } from "../../../control/placement/rankers/from-strategies.ts";
import { randomRanker } from "../../../control/placement/rankers/random.ts";
import { spreadRanker } from "../../../control/placement/rankers/spread.ts";
import { fewestRunningTasks, mostRemainingMemory } from "../../../control/placement/rankers/tie-breaks.ts";
import { seededRng } from "../../../control/placement/seeded-rng.ts";
import { instance } from "./fixtures.ts";

const zoned = (id: string, zone: string | undefined, groups: Record<string, number> = {}) =>
  instance(id, { attributes: zone ? { zone, hostname: `h-${id}` } : { hostname: `h-${id}` }, groups });

describe("spread ranker", () => {
  test("instanceId: fewer tasks of the group scores lower", () => {
    const r = spreadRanker("instanceId", new ClusterIndex(), "service:web");
    expect(r.score(instance("a"))).toBe(0);
    expect(r.score(instance("b", { groups: { "service:web": 3, "service:db": 9 } }))).toBe(3);
  });

  test("attribute: scores by the group's count in the candidate's bucket, across the cluster", () => {
    const index = ClusterIndex.from([
      zoned("a1", "z1", { "service:web": 2 }),
      zoned("a2", "z1", { "service:web": 1 }),
      zoned("b1", "z2", { "service:web": 1, "service:db": 5 }),
      zoned("c1", "z3"),
    ]);
    const r = spreadRanker("attribute:zone", index, "service:web");
    // a2 itself runs one task, but its zone runs three.
    expect(r.score(index.get("a2")!)).toBe(3);
    expect(r.score(index.get("b1")!)).toBe(1);
    expect(r.score(index.get("c1")!)).toBe(0);
  });

  test("attribute: placements within the request count immediately", () => {
    const index = ClusterIndex.from([zoned("a", "z1"), zoned("b", "z1")]);
    const r = spreadRanker("attribute:zone", index, "service:web");
    r.placed?.(index.get("a")!);
    expect(r.score(index.get("b")!)).toBe(1);
    // The index itself is not touched.
    expect(index.spreadTally("service:web", "attribute:zone").get("z1")).toBeUndefined();
  });

  test("field keywords are case-insensitive", () => {
    const index = ClusterIndex.from([zoned("a", "z1", { "service:web": 1 }), zoned("b", "z1")]);
    expect(spreadRanker("ATTRIBUTE:zone", index, "service:web").score(index.get("b")!)).toBe(1);
    expect(spreadRanker("INSTANCEID", index, "service:web").score(index.get("b")!)).toBe(0);
  });

  test("attribute: instances without the attribute share one bucket", () => {
    const index = ClusterIndex.from([zoned("a", undefined, { "service:web": 1 }), zoned("b", undefined)]);
    expect(spreadRanker("attribute:zone", index, "service:web").score(index.get("b")!)).toBe(1);
  });

  test("host: hostname attribute, falling back to the instance id", () => {
    const index = ClusterIndex.from([
      instance("a", { attributes: { hostname: "pi" }, groups: { g: 1 } }),
      instance("b", { attributes: { hostname: "pi" } }),
      instance("c", { attributes: {} }),
    ]);
    const r = spreadRanker("host", index, "g");
    expect(r.score(index.get("b")!)).toBe(1); // same host name as a
    expect(r.score(index.get("c")!)).toBe(0);
  });
});

describe("binpack ranker", () => {
  const roomy = instance("roomy", { remaining: { cpu: 4000, memory: 1000 } });
  const tight = instance("tight", { remaining: { cpu: 1000, memory: 7000 } });

  test("memory: least remaining memory first", () => {
    const r = binpackRanker("memory");
    expect(r.score(roomy)).toBeLessThan(r.score(tight));
  });

  test("cpu: least remaining cpu first", () => {
    const r = binpackRanker("cpu");
    expect(r.score(tight)).toBeLessThan(r.score(roomy));
  });
});

describe("random ranker", () => {
  test("draws from the injected rng, so a seed replays the same scores", () => {
    const a = randomRanker(seededRng(7));
    const b = randomRanker(seededRng(7));
    const i = instance("x");
    const first = [a.score(i), a.score(i), a.score(i)];
    expect([b.score(i), b.score(i), b.score(i)]).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });
});

describe("tie-breaks and defaults", () => {
  test("fewest running tasks, then most remaining memory", () => {
    expect(fewestRunningTasks.score(instance("a", { runningTasksCount: 1 }))).toBeLessThan(fewestRunningTasks.score(instance("b", { runningTasksCount: 2 })));
    expect(mostRemainingMemory.score(instance("a", { remaining: { cpu: 1, memory: 900 } }))).toBeLessThan(
      mostRemainingMemory.score(instance("b", { remaining: { cpu: 1, memory: 100 } })),
    );
  });

  test("no strategy: spread over instances for the group, then the tie-breaks", () => {
    expect(rankersFor([], new ClusterIndex(), "g", Math.random).map((r) => r.name)).toEqual(["spread(instanceId)", "fewestRunningTasks", "mostRemainingMemory"]);
  });

  test("strategies keep their order and are followed by the tie-breaks", () => {
    const names = rankersFor(
      [
        { type: "spread", field: "attribute:zone" },
        { type: "binpack", field: "memory" },
      ],
      new ClusterIndex(),
      "g",
      Math.random,
    ).map((r) => r.name);
    expect(names).toEqual(["spread(attribute:zone)", "binpack(memory)", "fewestRunningTasks", "mostRemainingMemory"]);
  });
});
