import { describe, expect, test } from "bun:test";
import { ConfigError, parseAgentConfig } from "../../agent/config.ts";

const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig(["--control", "mqtt://127.0.0.1:1883", ...args], env);

describe("image cleanup flags", () => {
  test("defaults as ECS: every hour, images at least an hour old, five per cycle", () => {
    expect(parse([]).imageCleanup).toEqual({ intervalSeconds: 3600, minimumAgeSeconds: 3600, imagesPerCycle: 5 });
  });

  test("flags, environment, and 0 turning cleanup off", () => {
    expect(parse(["--image-cleanup-interval", "0", "--image-minimum-age", "10", "--images-per-cycle", "2"]).imageCleanup).toEqual({
      intervalSeconds: 0,
      minimumAgeSeconds: 10,
      imagesPerCycle: 2,
    });
    expect(parse([], { FLOTILLA_IMAGE_CLEANUP_INTERVAL: "60" }).imageCleanup.intervalSeconds).toBe(60);
  });

  test("bad values name the flag", () => {
    expect(() => parse(["--image-cleanup-interval", "soon"])).toThrow(ConfigError);
    expect(() => parse(["--image-minimum-age", "1h"])).toThrow(/--image-minimum-age must be a whole number/);
    expect(() => parse(["--images-per-cycle", "0"])).toThrow(/--images-per-cycle must be a whole number \(at least 1\)/);
  });
});
