import { describe, expect, test } from "bun:test";
import { ConfigError, parseAgentConfig } from "../../agent/config.ts";

describe("--control: one broker URL or a clustered broker's nodes", () => {
  test("one URL, as before", () => {
    const c = parseAgentConfig(["--control", "mqtt://10.0.0.5:1883"], {});
    expect(c.control).toBe("mqtt://10.0.0.5:1883");
    expect(c.controlUrls).toEqual(["mqtt://10.0.0.5:1883"]);
  });

  test("comma separated, repeated, or in FLOTILLA_CONTROL: in the order given", () => {
    const want = ["mqtt://a:1883", "mqtts://b:8883", "mqtt://c:1883"];
    expect(parseAgentConfig(["--control", "mqtt://a:1883, mqtts://b:8883,mqtt://c:1883"], {}).controlUrls).toEqual(want);
    expect(parseAgentConfig(["--control", "mqtt://a:1883", "--control", "mqtts://b:8883,mqtt://c:1883"], {}).controlUrls).toEqual(want);
    const fromEnv = parseAgentConfig([], { FLOTILLA_CONTROL: "mqtt://a:1883,mqtts://b:8883,mqtt://c:1883" });
    expect(fromEnv.controlUrls).toEqual(want);
    expect(fromEnv.control).toBe("mqtt://a:1883");
  });

  test("bad input is one readable error", () => {
    expect(() => parseAgentConfig([], {})).toThrow(new ConfigError("--control is required (e.g. mqtt://127.0.0.1:1883)"));
    expect(() => parseAgentConfig(["--control", "mqtt://a:1883,http://b"], {})).toThrow(new ConfigError('--control must be mqtt:// or mqtts:// URLs (comma separated), got "http://b"'));
    expect(() => parseAgentConfig(["--control", "mqtt://a:1883,mqtt://a:1883"], {})).toThrow(/names a broker URL twice/);
  });
});
