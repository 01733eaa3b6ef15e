import { describe, expect, test } from "bun:test";
import { ByteRateLimiter } from "../../../../agent/runtime/registry/byte-rate-limiter.ts";

async function* chunks(n: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) yield new Uint8Array(size);
}

describe("ByteRateLimiter (the pull bandwidth cap)", () => {
  test("no cap: bytes pass at once and are still counted", async () => {
    const l = new ByteRateLimiter();
    await l.take(10_000_000);
    expect(l.granted).toBe(10_000_000);
    expect(l.bytesPerSecond).toBeUndefined();
  });

  test("a capped stream gets no faster than the rate: 200 KB at 400 KB/s needs at least (200 KB - one bucket) / rate", async () => {
    const rate = 400_000;
    const l = new ByteRateLimiter(rate);
    let out = 0;
    const t0 = performance.now();
    for await (const piece of l.throttle(chunks(50, 4000))) {
      // No piece is bigger than what the bucket can hold.
      expect(piece.byteLength).toBeLessThanOrEqual(l.burst);
      out += piece.byteLength;
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(out).toBe(200_000);
    expect(l.granted).toBe(200_000);
    // The bucket starts empty, so every byte waited for its token: a lower bound, never a hope.
    expect(seconds).toBeGreaterThanOrEqual((l.granted - l.burst) / rate);
  });

  test("a chunk bigger than the bucket is split into pieces the bucket can grant", async () => {
    const l = new ByteRateLimiter(1_000_000);
    const sizes: number[] = [];
    for await (const p of l.throttle(chunks(1, 600_000))) sizes.push(p.byteLength);
    expect(sizes.every((s) => s <= l.burst)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(600_000);
  });

  test("setRate lifts or changes the cap and restarts the accounting; a bad rate is refused", async () => {
    const l = new ByteRateLimiter(2048);
    await l.take(100);
    l.setRate(undefined);
    expect(l.granted).toBe(0);
    expect(l.burst).toBe(Infinity);
    l.setRate(1_000_000);
    expect(l.bytesPerSecond).toBe(1_000_000);
    expect(() => l.setRate(0)).toThrow(/positive whole number/);
    expect(() => l.setRate(1.5)).toThrow(/positive whole number/);
  });

  test("two takers share one cap: together they stay under it", async () => {
    const rate = 300_000;
    const l = new ByteRateLimiter(rate);
    const t0 = performance.now();
    const drain = async () => {
      for await (const _ of l.throttle(chunks(25, 4000))) void _;
    };
    await Promise.all([drain(), drain()]);
    expect(l.granted).toBe(200_000);
    expect((performance.now() - t0) / 1000).toBeGreaterThanOrEqual((l.granted - l.burst) / rate);
  });
});
