import { describe, expect, test } from "bun:test";
import { ConfigError, parseControlConfig } from "../../../control/config.ts";
import { redisConnectionOptions } from "../../../control/broker/cluster.ts";

describe("--broker-cluster", () => {
  test("off by default: the embedded broker stands alone", () => {
    expect(parseControlConfig([], {}).broker).toEqual({ mode: "embedded", clusterUrl: undefined });
  });

  test("flag or FLOTILLA_BROKER_CLUSTER clusters the embedded broker, and --ha then needs no external broker", () => {
    expect(parseControlConfig(["--broker-cluster", "redis://10.0.0.9:6379"], {}).broker).toEqual({ mode: "embedded", clusterUrl: "redis://10.0.0.9:6379" });
    const c = parseControlConfig(["--ha", "--ha-id", "a"], { FLOTILLA_BROKER_CLUSTER: "rediss://redis.internal:6380/2" });
    expect(c.broker).toEqual({ mode: "embedded", clusterUrl: "rediss://redis.internal:6380/2" });
    expect(c.ha).toEqual({ holderId: "a", leaseTtlMs: 5000 });
  });

  test("bad input is one readable error", () => {
    expect(() => parseControlConfig(["--broker-cluster", "http://x:1"], {})).toThrow(new ConfigError('--broker-cluster must be redis://HOST:PORT (or rediss://, optionally /DB), got "http://x:1"'));
    expect(() => parseControlConfig(["--broker-cluster", "redis://x:1", "--broker", "external", "--broker-url", "mqtt://m:1883", "--broker-admin-user", "a", "--broker-admin-password", "p"], {})).toThrow(/does not go with --broker external/);
  });

  test("the URL becomes ioredis options (user, password, database, TLS)", () => {
    expect(redisConnectionOptions("redis://127.0.0.1:7001")).toEqual({ host: "127.0.0.1", port: 7001, db: 0, maxRetriesPerRequest: null });
    expect(redisConnectionOptions("rediss://u:p%40ss@[::1]/3")).toEqual({ host: "::1", port: 6379, db: 3, username: "u", password: "p@ss", tls: {}, maxRetriesPerRequest: null });
  });
});
