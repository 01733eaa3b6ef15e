import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The event stream benchmark (scripts/bench/events-stream.ts) at a size CI can afford: 3
 * subscribers on GET /v1/events while 40 task state changes a second are applied through the
 * report path for 2 s, and its JSON on stdout. The figures are benchmarks (docs/benchmarks.md);
 * this proves the tool: every change became one event, every subscriber received every event of
 * the log once and in order, and the lag and rate figures are computed from what arrived. No
 * speed is asserted.
 */
describe("scripts/bench/events-stream.ts", () => {
  test("delivers every event to every subscriber and prints one consistent JSON result", async () => {
    const r = await run(["bun", "scripts/bench/events-stream.ts", "--rate", "40", "--seconds", "2", "--subscribers", "3"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.error).toBeUndefined();
    expect(result.benchmark).toBe("events-stream");
    expect(result.config).toMatchObject({ rate: 40, seconds: 2, subscribers: 3, tasks: 40, tasksPerInstance: 10 });

    // 80 changes, each one task state change event, and nothing else in the log meanwhile.
    const p = result.produced;
    expect(p).toMatchObject({ changes: 80, taskStateChangeEvents: 80, eventsInLog: 80 });
    expect(p.lastId - p.firstId + 1).toBe(80);
    expect(p.perSecond).toBeCloseTo(80 / p.seconds, 0);

    // Every subscriber got all 80, each once, in id order.
    expect(result.subscribers).toHaveLength(3);
    for (const s of result.subscribers) expect(s).toMatchObject({ status: 200, received: 80, missing: 0, duplicates: 0, outOfOrder: 0, exact: true });
    expect(result.delivery).toMatchObject({ everyEventExactlyOnce: true, missing: 0, duplicates: 0, outOfOrder: 0 });
    expect(result.delivery.perSubscriberPerSecond.min).toBeCloseTo(80 / p.seconds, 0);

    // One lag per delivered event, split by the second it was made in.
    const lag = result.lagMs;
    expect(lag.n).toBe(240);
    expect(lag.perSecond).toHaveLength(2);
    expect(lag.perSecond.reduce((a: number, w: { n: number }) => a + w.n, 0)).toBe(240);
    expect(lag.p50).toBeLessThanOrEqual(lag.p99);
    expect(lag.p99).toBeLessThanOrEqual(lag.max);
    expect(typeof lag.slopeMsPerSecond).toBe("number");
    expect(result.drainMs).toBe(Math.max(...result.subscribers.map((s: { drainMs: number }) => s.drainMs)));
    const t = result.targets;
    expect(t.lastSecondLagP99Ms).toMatchObject({ value: lag.perSecond[1].p99, target: 1000, kind: "max" });
    expect(t.drainMs).toMatchObject({ value: result.drainMs, target: 1000, kind: "max" });
    expect(t.changesPerSecond).toMatchObject({ value: p.perSecond, target: 38, kind: "min" });
    expect(result.keptUp).toBe(t.changesPerSecond.met && t.lastSecondLagP99Ms.met && t.drainMs.met);
  }, 60_000);
});
