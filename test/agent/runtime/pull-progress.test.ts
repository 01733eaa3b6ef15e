import { describe, expect, test } from "bun:test";
import { describePull, PullProgress } from "../../../agent/runtime/pull-progress.ts";
import type { PullSummary } from "../../../agent/runtime/types.ts";

describe("PullProgress", () => {
  test("sums layers and reports at most every interval", () => {
    let now = 0;
    const seen: PullSummary[] = [];
    const p = new PullProgress((s) => seen.push(s), 2000, () => now);
    p.push({ status: "Pulling from flotilla/probe", id: "1" });
    p.push({ id: "a", status: "Pulling fs layer" });
    p.push({ id: "b", status: "Already exists" });
    p.push({ id: "a", status: "Downloading", progressDetail: { current: 1024 * 1024, total: 4 * 1024 * 1024 } });
    now = 1000;
    p.push({ id: "a", status: "Downloading", progressDetail: { current: 2 * 1024 * 1024, total: 4 * 1024 * 1024 } });
    expect(seen).toHaveLength(1); // the first event, then silence inside the interval
    now = 2500;
    p.push({ id: "a", status: "Pull complete" });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual({ layers: 2, layersDone: 2, bytesDone: 4 * 1024 * 1024, bytesTotal: 4 * 1024 * 1024 });
    expect(describePull("img:1", seen[1]!)).toBe("Pulling img:1: 2/2 layers, 4.0/4.0 MiB");
  });
});
