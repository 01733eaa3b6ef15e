import { describe, expect, test } from "bun:test";
import { ConfigError, parseControlConfig } from "../../../control/config.ts";

const EXTERNAL = ["--broker", "external", "--broker-url", "mqtt://127.0.0.1:1883", "--broker-admin-user", "admin", "--broker-admin-password", "pw"];

describe("control HA configuration", () => {
  test("off by default", () => {
    expect(parseControlConfig([], {}).ha).toBeUndefined();
  });

  test("--ha or FLOTILLA_HA=1 with the external broker, default TTL 5000 ms", () => {
    expect(parseControlConfig(["--ha", ...EXTERNAL], {}).ha).toEqual({ holderId: undefined, leaseTtlMs: 5000 });
    expect(parseControlConfig(EXTERNAL, { FLOTILLA_HA: "1", FLOTILLA_HA_ID: "node-a", FLOTILLA_LEASE_TTL_MS: "8000" }).ha).toEqual({ holderId: "node-a", leaseTtlMs: 8000 });
    expect(parseControlConfig(["--ha", "--ha-id", "b", "--lease-ttl-ms", "3000", ...EXTERNAL], {}).ha).toEqual({ holderId: "b", leaseTtlMs: 3000 });
  });

  test("bad input is one readable error", () => {
    expect(() => parseControlConfig(["--ha"], {})).toThrow(new ConfigError("--ha needs --broker external (MQTT shared subscriptions) or --broker-cluster redis://HOST:PORT"));
    expect(() => parseControlConfig(["--ha", "--lease-ttl-ms", "fast", ...EXTERNAL], {})).toThrow(/--lease-ttl-ms must be a whole number of milliseconds from 300 to 600000, got "fast"/);
    expect(() => parseControlConfig(["--ha", "--lease-ttl-ms", "100", ...EXTERNAL], {})).toThrow(/--lease-ttl-ms/);
    expect(() => parseControlConfig(["--ha", "--ha-id", "a b/c", ...EXTERNAL], {})).toThrow(/--ha-id must be/);
  });
});
