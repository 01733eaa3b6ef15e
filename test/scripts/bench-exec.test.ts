import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The exec round trip benchmark (scripts/bench/exec.ts) at a size CI can afford: a real agent
 * process on the Docker engine, `hostname` run 3 times through ExecuteCommand and the session's
 * WebSocket, and its JSON on stdout. The figures are benchmarks (docs/benchmarks.md); this proves
 * the tool: every session ended with exit code 0 and output, and the verdict is computed from the
 * figure it prints. No speed is asserted.
 */
describe("scripts/bench/exec.ts", () => {
  test("runs hostname through exec sessions and prints one consistent JSON result", async () => {
    const r = await run(["bun", "scripts/bench/exec.ts", "--runs", "3"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ benchmark: "exec", runs: 3, failures: 0, targetP95Ms: 500 });
    expect(result.p50Ms).toBeGreaterThan(0);
    expect(result.p50Ms).toBeLessThanOrEqual(result.p95Ms);
    expect(result.p95Ms).toBeLessThanOrEqual(result.maxMs);
    expect(result.targets.p95Ms).toMatchObject({ value: result.p95Ms, target: 500, kind: "max", met: result.p95Ms <= 500 });
    expect(result.loadAverage.before).toBeGreaterThanOrEqual(0);
  }, 120_000);
});
