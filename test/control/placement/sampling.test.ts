import { describe, expect, test } from "bun:test";
import { EXHAUSTIVE_UP_TO, RandomOrder, SPREAD_SAMPLE, defaultSampleLimit } from "../../../control/placement/sampling.ts";
import { seededRng } from "../../../control/placement/seeded-rng.ts";

describe("RandomOrder", () => {
  test("visits every position exactly once", () => {
    for (const n of [1, 2, 7, 100, 1000]) {
      const order = new RandomOrder(n, seededRng(n));
      const seen: number[] = [];
      while (order.remaining > 0) seen.push(order.next());
      expect(seen.toSorted((a, b) => a - b)).toEqual([...Array(n).keys()]);
    }
  });

  test("is reproducible under a seed and differs between seeds", () => {
    const draw = (seed: number) => {
      const o = new RandomOrder(50, seededRng(seed));
      return Array.from({ length: 10 }, () => o.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  test("first draws are spread uniformly", () => {
    const rng = seededRng(3);
    const hits = new Array(10).fill(0);
    for (let k = 0; k < 20_000; k++) hits[new RandomOrder(10, rng).next()]++;
    for (const h of hits) expect(Math.abs(h - 2000)).toBeLessThan(200);
  });

  test("survives an rng that returns values at the edges", () => {
    const o = new RandomOrder(3, () => 0.9999999999999999);
    const seen = [o.next(), o.next(), o.next()];
    expect(seen.toSorted()).toEqual([0, 1, 2]);
  });

  test("an older order cannot be advanced once a newer one exists", () => {
    const old = new RandomOrder(5, Math.random);
    new RandomOrder(5, Math.random);
    expect(() => old.next()).toThrow();
  });
});

describe("defaultSampleLimit", () => {
  test("small clusters are ranked exhaustively", () => {
    expect(defaultSampleLimit(5, "binpack")).toBe(5);
    expect(defaultSampleLimit(EXHAUSTIVE_UP_TO, "spread")).toBe(EXHAUSTIVE_UP_TO);
  });

  test("binpack samples log2(n) feasible candidates", () => {
    expect(defaultSampleLimit(10_000, "binpack")).toBe(14);
    expect(defaultSampleLimit(1_000, "binpack")).toBe(10);
  });

  test("spread samples more, for availability", () => {
    expect(defaultSampleLimit(10_000, "spread")).toBe(SPREAD_SAMPLE);
    expect(defaultSampleLimit(2 ** 40, "spread")).toBe(40);
  });

  test("random needs one feasible candidate", () => {
    expect(defaultSampleLimit(10_000, "random")).toBe(1);
  });
});
