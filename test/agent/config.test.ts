import { describe, expect, test } from "bun:test";
import { ConfigError, parseAgentConfig } from "../../agent/config.ts";

const base = ["--control", "mqtt://127.0.0.1:1883"];
const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig([...base, ...args], env);

describe("agent operational flags", () => {
  test("defaults: introspection on 51678, health every 60 s, 512 MiB disk floor", () => {
    const c = parse([]);
    expect(c.introspectionPort).toBe(51678);
    expect(c.healthIntervalSeconds).toBe(60);
    expect(c.healthMinDiskFreeBytes).toBe(512 * 1024 * 1024);
    expect(c.registryCredentials).toBeUndefined();
  });

  test("flags and environment", () => {
    expect(parse(["--introspection-port", "0"]).introspectionPort).toBe(0);
    expect(parse(["--introspection-port", "off"]).introspectionPort).toBeNull();
    expect(parse([], { FLOTILLA_INTROSPECTION_PORT: "5000" }).introspectionPort).toBe(5000);
    expect(parse(["--registry-credentials", "/etc/flotilla/registries.json"]).registryCredentials).toBe("/etc/flotilla/registries.json");
    expect(parse(["--health-min-disk-free", "2G"]).healthMinDiskFreeBytes).toBe(2 * 1024 ** 3);
    expect(parse(["--health-min-disk-free", "1048576"]).healthMinDiskFreeBytes).toBe(1048576);
    expect(parse(["--health-interval", "5"]).healthIntervalSeconds).toBe(5);
  });

  test("bad values are one readable error naming the flag", () => {
    expect(() => parse(["--introspection-port", "http"])).toThrow(ConfigError);
    expect(() => parse(["--introspection-port", "65536"])).toThrow(/--introspection-port must be a port number/);
    expect(() => parse(["--health-interval", "0"])).toThrow(/--health-interval/);
    expect(() => parse(["--health-min-disk-free", "lots"])).toThrow(/--health-min-disk-free must be a size/);
  });
});
