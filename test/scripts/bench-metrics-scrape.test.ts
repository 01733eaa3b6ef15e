import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The /metrics scrape benchmark (scripts/bench/metrics-scrape.ts) at a size CI can afford: its fleet
 * is placed, scraped the number of times asked, and its JSON says so. No speed is asserted (the
 * figures are in docs/benchmarks.md); the verdict is checked against the figure it is made from.
 */
describe("scripts/bench/metrics-scrape.ts", () => {
  test("places the fleet, scrapes N times and prints one consistent JSON result", async () => {
    const r = await run(["bun", "scripts/bench/metrics-scrape.ts", "--hosts", "40", "--tasks", "200", "--scrapes", "5", "--stats"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.bench).toBe("metrics-scrape");
    expect(result.setup).toMatchObject({ hosts: 40, tasks: 200, containerStats: true, scrapes: 5 });
    expect(result.scrapeMs.n).toBe(5);
    expect(result.scrapeMs.p50).toBeLessThanOrEqual(result.scrapeMs.max);
    const verdict = result.targets.scrapeP95Ms;
    expect(verdict).toMatchObject({ value: result.scrapeMs.p95, target: 100, kind: "max", met: result.scrapeMs.p95 <= 100 });
    // The fleet gauges' series (per cluster and status) and the 100 services' usage gauges.
    expect(result.exposition.series).toBeGreaterThan(300);
    expect(result.exposition.bytes).toBeGreaterThan(10_000);
  }, 60_000);
});
