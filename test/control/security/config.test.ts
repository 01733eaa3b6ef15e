import { describe, expect, test } from "bun:test";
import { parseAgentConfig } from "../../../agent/config.ts";
import { ConfigError, parseControlConfig } from "../../../control/config.ts";

describe("control security flags", () => {
  test("external broker needs its URL and admin credentials; flags or environment", () => {
    expect(parseControlConfig([], {}).broker).toEqual({ mode: "embedded" });
    expect(() => parseControlConfig(["--broker", "external"], {})).toThrow(ConfigError);
    expect(() => parseControlConfig(["--broker", "external", "--broker-url", "mqtt://h:1"], {})).toThrow(/admin/);
    expect(() => parseControlConfig(["--broker", "mosquitto"], {})).toThrow(/embedded or external/);
    const c = parseControlConfig([], {
      FLOTILLA_BROKER: "external",
      FLOTILLA_BROKER_URL: "mqtt://127.0.0.1:1883",
      FLOTILLA_BROKER_ADMIN_USER: "admin",
      FLOTILLA_BROKER_ADMIN_PASSWORD: "pw",
    });
    expect(c.broker).toEqual({ mode: "external", url: "mqtt://127.0.0.1:1883", adminUser: "admin", adminPassword: "pw" });
  });

  test("TLS cert and key go together; the master key comes from the environment", () => {
    expect(() => parseControlConfig(["--tls-cert", "c.pem"], {})).toThrow(/together/);
    expect(parseControlConfig(["--tls-cert", "c.pem", "--tls-key", "k.pem"], {}).tls).toEqual({ certFile: "c.pem", keyFile: "k.pem", clientCaFile: undefined });
    expect(parseControlConfig([], { FLOTILLA_MASTER_KEY: "abc" }).masterKey).toBe("abc");
  });
});

describe("agent TLS flags", () => {
  test("--ca-file, --tls-cert and --tls-key", () => {
    const c = parseAgentConfig(["--control", "mqtts://h:8883", "--ca-file", "ca.pem", "--tls-cert", "c.pem", "--tls-key", "k.pem"], {});
    expect(c.tls).toEqual({ caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" });
    expect(() => parseAgentConfig(["--control", "mqtts://h:8883", "--tls-cert", "c.pem"], {})).toThrow(/together/);
  });

  test("an unreadable --ca-file stops the agent with one readable line", async () => {
    const p = Bun.spawn(["bun", "agent/main.ts", "--control", "mqtts://127.0.0.1:1", "--ca-file", "/nonexistent/ca.pem", "--data-dir", "/tmp/flotilla-noca-" + process.pid], {
      stdout: "pipe",
      stderr: "pipe",
      cwd: `${import.meta.dir}/../../..`,
    });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect(code).not.toBe(0);
    expect(err.trim().split("\n").at(-1)).toMatch(/^flotilla-agent: (cannot read --ca-file|cannot reach the Docker)/);
  }, 20_000);
});
