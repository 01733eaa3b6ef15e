import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { registerInstance } from "../../../agent/link/register.ts";
import { AuthRateLimiter } from "../../../control/broker/auth-rate-limit.ts";
import type { TestControl } from "../../helpers/control.ts";
import { activation } from "../../helpers/fleet.ts";
import { startControlWith } from "./control-with.ts";

describe("AuthRateLimiter", () => {
  test("blocks an address after maxFailures within the window, for blockMs", () => {
    let now = 0;
    const l = new AuthRateLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000, now: () => now });
    l.recordFailure("a");
    l.recordFailure("a");
    expect(l.blocked("a")).toBe(false);
    l.recordFailure("a");
    expect(l.blocked("a")).toBe(true);
    expect(l.blocked("b")).toBe(false);
    now = 4999;
    expect(l.blocked("a")).toBe(true);
    now = 5001;
    expect(l.blocked("a")).toBe(false);
  });

  test("failures spread beyond the window do not block", () => {
    let now = 0;
    const l = new AuthRateLimiter({ maxFailures: 3, windowMs: 1000, now: () => now });
    for (let i = 0; i < 10; i++) {
      l.recordFailure("a");
      now += 600;
    }
    expect(l.blocked("a")).toBe(false);
  });

  test("memory stays bounded under a flood of addresses", () => {
    const l = new AuthRateLimiter({ maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect((l as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(100);
  });
});

describe("embedded broker", () => {
  let tc: TestControl;
  beforeAll(async () => {
    tc = await startControlWith({ broker: { host: "127.0.0.1", port: 0, rateLimit: { maxFailures: 3, blockMs: 60_000 } } });
  });
  afterAll(() => tc.stop());

  test("after repeated bad passwords from one address even good credentials are refused for a while", async () => {
    const act = await activation(tc, "rl", 2);
    const good = await registerInstance(tc.control.mqttUrl, { id: act.activationId, code: act.activationCode }, {
      hostname: "h",
      resources: { cpu: 1, memory: 1 },
      attributes: {},
      versionInfo: { agentVersion: "t", dockerVersion: "t" },
    });
    for (let i = 0; i < 3; i++) {
      const err = await mqtt
        .connectAsync(tc.control.mqttUrl, { clientId: good.instanceId, username: good.username, password: "guess" + i, reconnectPeriod: 0 })
        .then(() => null, (e) => e);
      expect(err?.code).toBe(5);
    }
    const blocked = await mqtt
      .connectAsync(tc.control.mqttUrl, { clientId: good.instanceId, username: good.username, password: good.password, reconnectPeriod: 0 })
      .then(() => null, (e) => e);
    // 3 "server unavailable": agents behind the same address retry rather than exit as deregistered.
    expect(blocked?.code).toBe(3);
    expect(tc.control.broker.stats.rateLimitedConnects).toBeGreaterThanOrEqual(1);
    // The control service's own link is unaffected: the API still works end to end.
    expect((await tc.api("GET", "/v1/clusters/rl")).status).toBe(200);
  });
});
