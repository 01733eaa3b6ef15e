import { describe, expect, test } from "bun:test";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { limitPulls, PullLimiter } from "../../../agent/runtime/pull-limiter.ts";

/** Counts the pulls in flight inside the runtime (under the limiter) and the most seen at once. */
function countingPulls(runtime: HollowRuntime) {
  const seen = { active: 0, max: 0, order: [] as string[] };
  const ensure = runtime.ensureImage.bind(runtime);
  runtime.ensureImage = async (image, behavior) => {
    seen.active++;
    seen.max = Math.max(seen.max, seen.active);
    seen.order.push(`start ${image}`);
    try {
      return await ensure(image, behavior);
    } finally {
      seen.active--;
      seen.order.push(`end ${image}`);
    }
  };
  return seen;
}

describe("PullLimiter over the in-memory runtime", () => {
  test("limit 1: pulls run one after another, in the order they asked", async () => {
    const hollow = new HollowRuntime({ timings: { pullLatencyMs: 5 } });
    const seen = countingPulls(hollow);
    const limited = limitPulls(hollow, new PullLimiter(1));
    await Promise.all(["a", "b", "c"].map((i) => limited.ensureImage(i, "always")));
    expect(seen.max).toBe(1);
    expect(seen.order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  test("limit 2: never more than two at once, and two do run together", async () => {
    const hollow = new HollowRuntime({ timings: { pullLatencyMs: 5 } });
    const seen = countingPulls(hollow);
    const limiter = new PullLimiter(2);
    const limited = limitPulls(hollow, limiter);
    const all = Promise.all(["a", "b", "c", "d", "e"].map((i) => limited.ensureImage(i, "always")));
    expect(limiter.running).toBe(2);
    expect(limiter.queued).toBe(3);
    await all;
    expect(seen.max).toBe(2);
    expect(limiter.running).toBe(0);
  });

  test("a failed pull gives its slot back", async () => {
    const hollow = new HollowRuntime({ timings: { pullLatencyMs: 1 }, unpullableImages: ["bad"] });
    const limited = limitPulls(hollow, new PullLimiter(1));
    const results = await Promise.allSettled([limited.ensureImage("bad", "always"), limited.ensureImage("good", "always")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    expect((results[0] as PromiseRejectedResult).reason.name).toBe("CannotPullContainerError");
  });

  test("the other runtime calls are the runtime's own, unlimited", async () => {
    const hollow = new HollowRuntime({ timings: { pullLatencyMs: 1 } });
    const limited = limitPulls(hollow, new PullLimiter(1));
    expect((await limited.info()).version).toBe("hollow-1");
  });

  test("setLimit: raised, waiting pulls start at once; lowered, running ones finish and no new one starts above it", async () => {
    const hollow = new HollowRuntime({ timings: { pullLatencyMs: 5 } });
    const seen = countingPulls(hollow);
    const limiter = new PullLimiter(1);
    const limited = limitPulls(hollow, limiter);
    const first = Promise.all(["a", "b", "c"].map((i) => limited.ensureImage(i, "always")));
    expect([limiter.running, limiter.queued]).toEqual([1, 2]);
    limiter.setLimit(3);
    expect([limiter.running, limiter.queued]).toEqual([3, 0]);
    await first;
    expect(seen.max).toBe(3);
    seen.max = 0;
    const second = Promise.all(["d", "e", "f", "g"].map((i) => limited.ensureImage(i, "always")));
    limiter.setLimit(1);
    await second;
    // d, e and f had started under 3; g waited until all three ended.
    expect(seen.order.indexOf("start g")).toBeGreaterThan(Math.max(seen.order.indexOf("end d"), seen.order.indexOf("end e"), seen.order.indexOf("end f")));
    expect(limiter.running).toBe(0);
    expect(() => limiter.setLimit(0)).toThrow("positive integer");
  });

  test("a limit below 1 is refused", () => {
    expect(() => new PullLimiter(0)).toThrow("positive integer");
  });
});
