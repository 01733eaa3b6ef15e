import { describe, expect, test } from "bun:test";
import { parseAgentConfig } from "../../agent/config.ts";

const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig(["--control", "mqtt://127.0.0.1:1883", ...args], env);

describe("discovery DNS flags", () => {
  test("defaults: the Docker bridge's gateway port 53, the host's resolvers upstream, stale after 300 s", () => {
    expect(parse([])).toMatchObject({ dnsListen: { port: 53 }, dnsUpstreams: undefined, dnsStaleAfterSeconds: 300 });
    expect(parse([]).dnsListen!.address).toBeUndefined();
  });

  test("an address with or without a port, off, by flag or environment", () => {
    expect(parse(["--dns-listen", "10.0.0.5"]).dnsListen).toEqual({ address: "10.0.0.5", port: 53 });
    expect(parse(["--dns-listen", "127.0.0.1:5353"]).dnsListen).toEqual({ address: "127.0.0.1", port: 5353 });
    expect(parse(["--dns-listen", "[fd00::1]:53"]).dnsListen).toEqual({ address: "fd00::1", port: 53 });
    expect(parse(["--dns-listen", "off"]).dnsListen).toBeNull();
    expect(parse([], { FLOTILLA_DNS_LISTEN: "off" }).dnsListen).toBeNull();
    expect(parse(["--dns-upstream", "10.0.0.2, 127.0.0.1:5300"]).dnsUpstreams).toEqual([
      { address: "10.0.0.2", port: 53 },
      { address: "127.0.0.1", port: 5300 },
    ]);
    expect(parse([], { FLOTILLA_DNS_STALE_AFTER: "60" }).dnsStaleAfterSeconds).toBe(60);
  });

  test("bad values name the flag", () => {
    expect(() => parse(["--dns-listen", "docker0"])).toThrow(/--dns-listen must be an IP address/);
    expect(() => parse(["--dns-listen", "10.0.0.1:70000"])).toThrow(/--dns-listen/);
    expect(() => parse(["--dns-upstream", "resolver.local"])).toThrow(/--dns-upstream/);
    expect(() => parse(["--dns-stale-after", "0"])).toThrow(/--dns-stale-after/);
  });
});
