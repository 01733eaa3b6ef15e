import { describe, expect, test } from "bun:test";
import { parseAgentConfig } from "../../agent/config.ts";

const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig(["--control", "mqtt://127.0.0.1:1883", ...args], env);

describe("--ingress", () => {
  test("on by default on every IPv4 address; off; one address; by flag or environment", () => {
    expect(parse([]).ingressAddress).toBe("0.0.0.0");
    expect(parse(["--ingress", "on"]).ingressAddress).toBe("0.0.0.0");
    expect(parse(["--ingress", "off"]).ingressAddress).toBeNull();
    expect(parse([], { FLOTILLA_INGRESS: "off" }).ingressAddress).toBeNull();
    expect(parse(["--ingress", "198.18.54.1"]).ingressAddress).toBe("198.18.54.1");
  });

  test("a value that is no address names the flag", () => {
    expect(() => parse(["--ingress", "eth0"])).toThrow(/--ingress must be/);
  });
});
