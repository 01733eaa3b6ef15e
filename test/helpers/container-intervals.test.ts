import { describe, expect, test } from "bun:test";
import { minRunning } from "./container-intervals.ts";

/** The rollout tests' "never below N" is computed from recorded intervals: it must see every dip. */
describe("minRunning", () => {
  const iv = (start: number, end = Infinity) => ({ id: `${start}-${end}`, taskId: "t", start, end });

  test("counts what runs at the window's start and every change inside it", () => {
    const old = [iv(0, 20), iv(0, 40)];
    const next = [iv(25), iv(45)];
    expect(minRunning([...old, ...next], 10, 50)).toBe(1); // 20..25 and 40..45: one running
    expect(minRunning([...old, ...next], 10, 19)).toBe(2);
    expect(minRunning([...old, ...next], 46, 100)).toBe(2);
  });

  test("a dip of one millisecond between two samples is still a dip", () => {
    expect(minRunning([iv(0, 100), iv(0, 50), iv(51)], 0, 200)).toBe(1);
  });

  test("a stop and a start at the same instant count the stop first", () => {
    expect(minRunning([iv(0, 30), iv(0), iv(30)], 0, 60)).toBe(1);
  });

  test("intervals outside the window do not count", () => {
    expect(minRunning([iv(0, 5), iv(100, 200), iv(10)], 20, 50)).toBe(1);
  });
});
