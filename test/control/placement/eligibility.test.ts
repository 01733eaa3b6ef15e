import { describe, expect, test } from "bun:test";
import { ELIGIBILITY_CHECKERS, FEASIBILITY_CHAIN } from "../../../control/placement/index.ts";

describe("ELIGIBILITY_CHECKERS (what an image prefetch aims by)", () => {
  test("are checkers of FEASIBILITY_CHAIN, in its order, without those that change with placements", () => {
    const positions = ELIGIBILITY_CHECKERS.map((c) => FEASIBILITY_CHAIN.indexOf(c));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    const names = ELIGIBILITY_CHECKERS.map((c) => c.name);
    for (const changing of ["checkCpu", "checkMemory", "checkPorts", "checkGpus", "checkDistinctInstance"]) expect(names).not.toContain(changing);
    expect(names).toContain("checkMemberOf");
    expect(names).toContain("checkCpuArchitecture");
  });
});
