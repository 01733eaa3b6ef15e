import { describe, expect, test } from "bun:test";
import { asDate, asNumber, compareVersions } from "../../../control/placement/query/literals.ts";

describe("literals", () => {
  test("numbers are strict decimals", () => {
    expect(asNumber("42")).toBe(42);
    expect(asNumber("-1.5")).toBe(-1.5);
    for (const s of ["", "1e3", "0x10", "4 ", "four"]) expect(asNumber(s)).toBeNull();
  });

  test("the date formats ECS documents", () => {
    expect(asDate("2018-06-18")).toBe(Date.UTC(2018, 5, 18));
    expect(asDate("2018-06-18T22:28:28")).toBe(Date.UTC(2018, 5, 18, 22, 28, 28));
    expect(asDate("2018-06-18T22:28:28Z")).toBe(Date.UTC(2018, 5, 18, 22, 28, 28));
    expect(asDate("2018-06-18T22:28:28+00:00")).toBe(Date.UTC(2018, 5, 18, 22, 28, 28));
    expect(asDate("2018-06-18T22:28:28-05:30")).toBe(Date.UTC(2018, 5, 19, 3, 58, 28));
  });

  test("impossible dates are rejected", () => {
    for (const s of ["2026-02-30", "2026-13-01", "2026-01-01T24:00:00Z", "yesterday", "2026/01/01"]) expect(asDate(s)).toBeNull();
  });

  test("versions compare part by part", () => {
    expect(compareVersions("1.10.0", "1.9.9")).toBe(1);
    expect(compareVersions("v2.0", "2.0.0")).toBe(0);
    expect(compareVersions("1.2.3", "1.2.4")).toBe(-1);
  });
});
