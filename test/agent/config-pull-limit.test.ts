import { describe, expect, test } from "bun:test";
import { ConfigError, parseAgentConfig } from "../../agent/config.ts";

const base = ["--control", "mqtt://127.0.0.1:1883"];
const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig([...base, ...args], env);

describe("--max-concurrent-pulls", () => {
  test("2 by default; the flag, else FLOTILLA_MAX_CONCURRENT_PULLS, sets it", () => {
    expect(parse([]).maxConcurrentPulls).toBe(2);
    expect(parse(["--max-concurrent-pulls", "1"]).maxConcurrentPulls).toBe(1);
    expect(parse([], { FLOTILLA_MAX_CONCURRENT_PULLS: "4" }).maxConcurrentPulls).toBe(4);
    expect(parse(["--max-concurrent-pulls", "3"], { FLOTILLA_MAX_CONCURRENT_PULLS: "4" }).maxConcurrentPulls).toBe(3);
  });
  test("0, a fraction or a word is refused naming the flag", () => {
    for (const bad of ["0", "1.5", "many"]) {
      expect(() => parse(["--max-concurrent-pulls", bad])).toThrow(ConfigError);
      expect(() => parse(["--max-concurrent-pulls", bad])).toThrow(/--max-concurrent-pulls must be a whole number \(at least 1\)/);
    }
  });
});

describe("--max-pull-bytes-per-second", () => {
  test("no cap by default; the flag, else FLOTILLA_MAX_PULL_BYTES_PER_SECOND, sets it", () => {
    expect(parse([]).maxPullBytesPerSecond).toBeUndefined();
    expect(parse(["--max-pull-bytes-per-second", "1000000"]).maxPullBytesPerSecond).toBe(1_000_000);
    expect(parse([], { FLOTILLA_MAX_PULL_BYTES_PER_SECOND: "2048" }).maxPullBytesPerSecond).toBe(2048);
  });
  test("below 1024, a fraction or a unit is refused naming the flag", () => {
    for (const bad of ["1023", "1.5", "8mbit"]) {
      expect(() => parse(["--max-pull-bytes-per-second", bad])).toThrow(/--max-pull-bytes-per-second must be a whole number \(at least 1024\)/);
    }
  });
});
