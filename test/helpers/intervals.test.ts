import { describe, expect, test } from "bun:test";
import { fewestAtOnce, mostAtOnce } from "./intervals.ts";

/** The rollout proofs lean on these two: a wrong count here would pass a broken scheduler. */
describe("interval overlap", () => {
  const iv = (from: number, to: number) => ({ from, to });

  test("the most at once, and where", () => {
    expect(mostAtOnce([])).toEqual({ count: 0, at: -Infinity });
    expect(mostAtOnce([iv(0, 10), iv(5, 15), iv(12, 20)])).toEqual({ count: 2, at: 5 });
    expect(mostAtOnce([iv(0, 10), iv(1, 2), iv(3, Infinity), iv(4, 5)]).count).toBe(3);
    // One ending as another starts counts as both (against a claimed maximum).
    expect(mostAtOnce([iv(0, 10), iv(10, 20)]).count).toBe(2);
    // Only instants in the window count.
    expect(mostAtOnce([iv(0, 10), iv(5, 15), iv(20, 30)], iv(11, 40)).count).toBe(1);
  });

  test("the fewest at once in a window, and where", () => {
    // A dip of 1 ms between two intervals is found; sampling every 50 ms would likely miss it.
    expect(fewestAtOnce([iv(0, 100), iv(0, 50), iv(51, 100)], iv(0, 100))).toEqual({ count: 1, at: 50 });
    // One ending as another starts counts as neither (against a claimed minimum).
    expect(fewestAtOnce([iv(0, 10), iv(10, 20)], iv(1, 19))).toEqual({ count: 0, at: 10 });
    expect(fewestAtOnce([iv(0, Infinity), iv(5, Infinity)], iv(6, 9)).count).toBe(2);
    // A window edge outside every interval counts nothing there.
    expect(fewestAtOnce([iv(5, 10)], iv(0, 7))).toEqual({ count: 0, at: 2.5 });
    // Intervals that start exactly at the window's start cover it.
    expect(fewestAtOnce([iv(0, 10), iv(0, 10)], iv(0, 10)).count).toBe(2);
    expect(() => fewestAtOnce([], iv(0, Infinity))).toThrow(/finite window/);
  });
});
