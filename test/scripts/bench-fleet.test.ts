import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The fleet simulator (scripts/bench/fleet.ts) end to end at a size CI can afford: a separate
 * control process with the embedded broker, real agent code over real MQTT connections on the
 * hollow runtime, registration, RunTask and a service scale-up, and its JSON on stdout. The
 * numbers themselves are benchmarks (docs/benchmarks.md); this proves the tool that makes them:
 * every agent is there, every task ran and was traced, the service reached its count, and each
 * target verdict is computed from the figure it names. No speed is asserted.
 */
const AGENTS = 20;
const TASKS = 10;
const BURST = 10;
const SCALE = 5;
/** The targets fleet.ts states (issue 8); a verdict must compare the printed figure with these. */
const TARGETS = { registerAllMs: 60_000, idleControlCpuPercent: 30, peakControlRssMiB: 2048, idleUplinkKbitPerAgent: 0.05, runTaskToRunningP99Ms: 500, serviceScaleUpAllRunningMs: 5000 };

type Summary = { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };

/** Percentiles of n samples: all numbers, in order. */
function expectOrderedSummary(s: Summary, n: number, what: string): void {
  expect(s.n, what).toBe(n);
  const values = [s.p50, s.p90, s.p99, s.max];
  for (const v of values) expect(typeof v, what).toBe("number");
  const [p50, p90, p99, max] = values as number[];
  expect(p50, what).toBeGreaterThan(0);
  expect(p50, what).toBeLessThanOrEqual(p90!);
  expect(p90, what).toBeLessThanOrEqual(p99!);
  expect(p99, what).toBeLessThanOrEqual(max!);
}

describe("scripts/bench/fleet.ts", () => {
  test("registers N hollow agents, runs M tasks and a service, and prints one consistent JSON result", async () => {
    const r = await run(["bun", "scripts/bench/fleet.ts", "--agents", `${AGENTS}`, "--tasks", `${TASKS}`, "--burst", `${BURST}`, "--service-scale", `${SCALE}`, "--idle-seconds", "1"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.benchmark).toBe("fleet");
    expect(result.config).toMatchObject({ agents: AGENTS, tasks: TASKS, burst: BURST, serviceScale: SCALE, broker: "embedded (aedes)" });
    expect(result.error).toBeUndefined();
    // The control logged no line with "refused", "error", "failed" or "timeout".
    expect(result.controlNotableLog).toBeUndefined();

    // Registration: the control saw every agent connected, after the agents saw themselves so.
    const reg = result.registration;
    expect(reg.agentSideAllConnectedMs).toBeGreaterThan(0);
    expect(reg.registerAllMs).toBeGreaterThanOrEqual(reg.agentSideAllConnectedMs);
    expect(reg.perSecond).toBeCloseTo(AGENTS / (reg.registerAllMs / 1000), 0);

    // Idle: all still connected, nothing reconnected, retried or rejected.
    expect(result.idle).toMatchObject({ connected: AGENTS, reconnectsDuringRun: 0, registrationRetries: 0, workerUnhandledRejections: 0 });
    expect(result.idle.uplinkKbitPerSecondPerAgent).toBeGreaterThanOrEqual(0);

    // RunTask → RUNNING: every task ran, the first one (index load) too, and each was traced hop by hop.
    const rt = result.runTaskToRunning;
    expect(rt).toMatchObject({ failures: 0, firstFailures: [] });
    expectOrderedSummary(rt, TASKS, "runTaskToRunning");
    expect(typeof rt.firstRunTaskMs).toBe("number"); // a string would be the first task's failure
    expect(rt.wallMs).toBeGreaterThanOrEqual(Math.floor(rt.max)); // wallMs is rounded
    const segments = Object.entries(result.runTaskTrace.segments as Record<string, Summary>);
    expect(segments.map(([name]) => name)).toEqual(["apiToCommit", "waitForFlush", "publishAck", "brokerToAgent", "agentEngine", "reportToControl", "reportMerge", "mergeToSeen"]);
    for (const [name, s] of segments) expect(s.n, name).toBe(TASKS);
    for (const stalls of [result.runTaskTrace.controlStalls, result.runTaskTrace.agentWorkerStalls]) {
      expect(stalls.over100ms).toBeLessThanOrEqual(stalls.over50ms);
      expect(stalls.over50ms).toBeLessThanOrEqual(stalls.count);
    }

    // The burst: all of it placed in RunTasks of 10, and every container of every task running.
    expect(result.placement).toMatchObject({ tasks: BURST, runTaskCalls: BURST / 10, failures: 0, firstFailures: [] });
    expect(result.placement.burstAllContainersRunningMs).toBeGreaterThan(0);

    // Service scale-up 0 → SCALE: the service reached its desired count, and each of its tasks has a time.
    const svc = result.serviceScaleUp;
    expect(svc.error).toBeUndefined();
    expect(svc).toMatchObject({ desiredCount: SCALE, tasks: SCALE });
    expectOrderedSummary(svc.toRunningMs, SCALE, "serviceScaleUp.toRunningMs");
    expect(svc.allRunningMs).toBe(Math.round(svc.toRunningMs.max));
    expect(svc.polledAllRunningMs).toBeGreaterThan(0); // DescribeServices showed runningCount ≥ desiredCount

    expect(result.control.peakRssMiB).toBeGreaterThan(0);

    // Each verdict compares the figure it names with the stated target.
    const figures: Record<keyof typeof TARGETS, number> = {
      registerAllMs: reg.registerAllMs,
      idleControlCpuPercent: result.idle.controlCpuPercentOfOneCore,
      peakControlRssMiB: result.control.peakRssMiB,
      idleUplinkKbitPerAgent: result.idle.uplinkKbitPerSecondPerAgent,
      runTaskToRunningP99Ms: rt.p99,
      serviceScaleUpAllRunningMs: svc.allRunningMs,
    };
    expect(Object.keys(result.targets).sort()).toEqual(Object.keys(TARGETS).sort());
    for (const [name, limit] of Object.entries(TARGETS) as [keyof typeof TARGETS, number][]) {
      const t = result.targets[name];
      expect(t, name).toMatchObject({ value: figures[name], target: limit, kind: "max", met: figures[name] <= limit });
    }
  }, 180_000);
});
