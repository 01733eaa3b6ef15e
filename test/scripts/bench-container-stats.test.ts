import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The container stats cost benchmark (scripts/bench/container-stats.ts) at a size CI can afford:
 * the real sampler over hollow containers and the control's parse-and-apply over hollow hosts, and
 * its JSON on stdout. The figures are benchmarks (docs/benchmarks.md); this proves the tool: every
 * container sampled, every host's message applied, the uplink verdict computed from its figure and
 * the byte counts consistent with each other. No speed is asserted.
 */
describe("scripts/bench/container-stats.ts", () => {
  test("samples N containers, applies H hosts' messages, and prints one consistent JSON result", async () => {
    const r = await run(["bun", "scripts/bench/container-stats.ts", "--containers", "4", "--hosts", "30", "--tasks", "5", "--rounds", "2"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.benchmark).toBe("container-stats");
    expect(result.config).toMatchObject({ containers: 4, hosts: 30, tasksPerHost: 5, rounds: 2, intervalSeconds: 30, runtime: "hollow" });

    const a = result.agent;
    expect(a.containersSampled).toBe(4);
    expect(a.cpuPerSampleMs).toBeGreaterThanOrEqual(0);
    // The wire adds framing and headers to the payload; per container is the sample over its containers.
    expect(a.wireBytesPerSample).toBeGreaterThan(a.payloadBytesPerSample);
    expect(a.wireBytesPerContainer).toBeCloseTo(a.wireBytesPerSample / 4, 0);
    expect(a.uplinkKbitPerHost).toBeCloseTo((a.wireBytesPerSample * 8) / 1000 / 30, 2);

    const c = result.control;
    expect(c).toMatchObject({ hosts: 30, tasksPerHost: 5, rounds: 2, dropped: 0, snapshotEntries: 150 });
    expect(c.cpuPerRoundMs).toBeGreaterThan(0);
    const verdict = result.targets.uplinkKbitPerHostAt5Tasks;
    expect(verdict).toMatchObject({ value: c.uplinkKbitPerHost, target: 0.2, kind: "max", met: c.uplinkKbitPerHost <= 0.2 });
  }, 60_000);
});
