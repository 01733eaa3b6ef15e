import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { target } from "../../scripts/bench/lib/args.ts";
import { RESULTS_HEADER, section, verdicts, verdictTable, writeSection } from "../../scripts/bench/lib/report-format.ts";

/** scripts/bench/all's results file: every benchmark's verdicts found, a rerun replaces its section. */
describe("benchmark results file", () => {
  test("finds target verdicts at targets.X, at X.target and in the placement benchmarks' targets + met maps", () => {
    const fleet = { targets: { registerAllMs: target(27_046, 60_000), idleControlCpuPercent: target(31, 30) } };
    expect(verdicts(fleet)).toEqual([
      { name: "registerAllMs", value: 27_046, target: 60_000, relation: "≤", met: true, ratio: 0.45 },
      { name: "idleControlCpuPercent", value: 31, target: 30, relation: "≤", met: false, ratio: 1.03 },
    ]);
    const services = { scale10To50: { ms: 9000, ratio: 1.3, target: target(1.3, 1.2) }, rollingUpdate50: { ms: 14_000, target: target(14_000, 15_000) } };
    expect(verdicts(services).map((v) => [v.name, v.met])).toEqual([["scale10To50", false], ["rollingUpdate50", true]]);
    const placement = { placementsPerSecond: 16_374, peakRssMiB: 600, targets: { placementsPerSecond: 10_000, peakRssMiB: 512 }, met: { placementsPerSecond: true, peakRssMiB: false } };
    expect(verdicts(placement)).toEqual([
      { name: "placementsPerSecond", value: 16_374, target: 10_000, relation: "", met: true },
      { name: "peakRssMiB", value: 600, target: 512, relation: "", met: false },
    ]);
    expect(verdicts({ target: target(4650, 10_000) })[0]!.name).toBe("target");
  });

  test("a missed target says by how much; an error and a missing figure are shown as such", () => {
    expect(verdictTable({ targets: { p: target(600, 500) } })).toContain("| p | 600 | ≤ 500 | **missed** (1.2× the limit) |");
    expect(verdictTable({ targets: { n: target(5000, 10_000, "min") } })).toContain("**missed** (0.5× the minimum)");
    expect(verdictTable({ targets: { s: target(Number.NaN, 5000) } })).toContain("not measured");
    expect(verdictTable({ error: "no JSON output (exit 1)" })).toStartWith("**Error:** no JSON output (exit 1)");
    expect(verdictTable({ logMiB: 20 })).toContain("No stated target");
  });

  test("a rerun replaces its own section and keeps the others: the file does not grow", () => {
    const file = join(mkdtempSync(join(tmpdir(), "bench-results-")), "results.md");
    const put = (name: string, value: number) =>
      writeSection(file, name, section({ name, title: `Bench ${name}`, command: `bun scripts/bench/${name}.ts`, facts: "Machine: test.", what: "Measures.", result: { targets: { x: target(value, 10) } } }));
    put("a", 1);
    put("b", 2);
    const once = readFileSync(file, "utf8");
    expect(once).toStartWith(RESULTS_HEADER);
    put("a", 3);
    const twice = readFileSync(file, "utf8");
    expect(twice.length).toBe(once.length);
    expect(twice.match(/<!-- bench:a -->/g)).toHaveLength(1);
    expect(twice).toContain("| x | 3 | ≤ 10 | met |");
    expect(twice).not.toContain("| x | 1 |");
    expect(twice.indexOf("## a")).toBeLessThan(twice.indexOf("## b"));
  });
});
