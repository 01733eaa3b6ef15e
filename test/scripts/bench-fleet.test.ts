import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The fleet simulator (scripts/bench/fleet.ts) end to end at a size CI can afford: a separate
 * control process with the embedded broker, real agent code over real MQTT connections on the
 * hollow runtime, registration, RunTask and a service scale-up, and its JSON on stdout. The
 * numbers themselves are benchmarks (docs/benchmarks.md); this proves the tool that makes them.
 */
describe("scripts/bench/fleet.ts", () => {
  test("registers N hollow agents, runs M tasks and a service, and prints one JSON result", async () => {
    const r = await run(["bun", "scripts/bench/fleet.ts", "--agents", "20", "--tasks", "10", "--burst", "10", "--service-scale", "5", "--idle-seconds", "1"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.benchmark).toBe("fleet");
    expect(result.config).toMatchObject({ agents: 20, tasks: 10, serviceScale: 5, broker: "embedded (aedes)" });
    expect(result.error).toBeUndefined();
    expect(result.registration.registerAllMs).toBeGreaterThan(0);
    expect(result.idle.connected).toBe(20);
    expect(result.idle.reconnectsDuringRun).toBe(0);
    expect(result.runTaskToRunning).toMatchObject({ n: 10, failures: 0 });
    expect(result.runTaskToRunning.p99).toBeGreaterThan(0);
    expect(result.serviceScaleUp).toMatchObject({ desiredCount: 5, tasks: 5 });
    expect(result.serviceScaleUp.allRunningMs).toBeGreaterThan(0);
  }, 180_000);
});
