import { describe, expect, test } from "bun:test";
import { ReconnectBackoff } from "../../../agent/link/reconnect-backoff.ts";

describe("reconnect backoff", () => {
  test("doubles per failed attempt from 250 ms up to 5 s, each wait in the upper half of its step", () => {
    const top = new ReconnectBackoff({ random: () => 0.999999 });
    expect(Array.from({ length: 8 }, () => top.nextDelayMs())).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    const bottom = new ReconnectBackoff({ random: () => 0 });
    expect(Array.from({ length: 7 }, () => bottom.nextDelayMs())).toEqual([125, 250, 500, 1000, 2000, 2500, 2500]);
  });

  test("jitter spreads a fleet: waits of the same step differ", () => {
    const waits = new Set(Array.from({ length: 50 }, () => new ReconnectBackoff().nextDelayMs()));
    expect(waits.size).toBeGreaterThan(10);
    for (const w of waits) expect(w >= 125 && w <= 250).toBe(true);
  });

  test("a connection that came up starts again from the first step", () => {
    const b = new ReconnectBackoff({ random: () => 0.999999 });
    b.nextDelayMs();
    b.nextDelayMs();
    b.nextDelayMs();
    b.reset();
    expect(b.nextDelayMs()).toBe(250);
  });
});
