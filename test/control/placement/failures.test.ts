import { describe, expect, test } from "bun:test";
import { describeFailure, reportedReason } from "../../../control/placement/failures.ts";
import type { FailureReason } from "../../../control/placement/types.ts";

const counts = (o: Partial<Record<FailureReason, number>>) => new Map(Object.entries(o) as [FailureReason, number][]);

describe("reportedReason", () => {
  test("the last stage reached wins even with fewer instances", () => {
    expect(reportedReason(counts({ AGENT: 9, "RESOURCE:MEMORY": 1 }))).toBe("RESOURCE:MEMORY");
    expect(reportedReason(counts({ AGENT: 5, ATTRIBUTE: 1 }))).toBe("ATTRIBUTE");
    expect(reportedReason(counts({ ATTRIBUTE: 5, "DistinctInstance placement constraint unsatisfied": 1 }))).toBe(
      "DistinctInstance placement constraint unsatisfied",
    );
  });

  test("within a stage, the reason that refused most instances wins", () => {
    expect(reportedReason(counts({ "RESOURCE:CPU": 2, "RESOURCE:MEMORY": 5, "RESOURCE:PORTS": 1 }))).toBe("RESOURCE:MEMORY");
    expect(reportedReason(counts({ "MemberOf placement constraint unsatisfied": 1, "DistinctInstance placement constraint unsatisfied": 3 }))).toBe(
      "DistinctInstance placement constraint unsatisfied",
    );
  });

  test("ties go to the reason earlier in the chain", () => {
    expect(reportedReason(counts({ "RESOURCE:MEMORY": 2, "RESOURCE:CPU": 2 }))).toBe("RESOURCE:CPU");
  });
});

describe("describeFailure", () => {
  test("counts every reason and explains them", () => {
    const f = describeFailure(counts({ AGENT: 1, "RESOURCE:MEMORY": 3 }), 4);
    expect(f.reason).toBe("RESOURCE:MEMORY");
    expect(f.rejected).toEqual({ AGENT: 1, "RESOURCE:MEMORY": 3 });
    expect(f.detail).toContain("of 4 instances, 3 by RESOURCE:MEMORY, 1 by AGENT");
  });

  test("an empty cluster is MISSING", () => {
    expect(describeFailure(new Map(), 0)).toEqual({ reason: "MISSING", detail: "the cluster has no container instances", rejected: {} });
  });
});
