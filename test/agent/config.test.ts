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

  test("task metadata endpoint: port 51679 on the Docker bridge's gateway by default; a port, 0, off and an address by flag or environment", () => {
    expect(parse([])).toMatchObject({ taskMetadataPort: 51679, taskMetadataAddress: undefined });
    expect(parse(["--task-metadata-port", "0"]).taskMetadataPort).toBe(0);
    expect(parse(["--task-metadata-port", "off"]).taskMetadataPort).toBeNull();
    expect(parse([], { FLOTILLA_TASK_METADATA_PORT: "80" }).taskMetadataPort).toBe(80);
    expect(parse(["--task-metadata-address", "169.254.170.2"]).taskMetadataAddress).toBe("169.254.170.2");
    expect(parse([], { FLOTILLA_TASK_METADATA_ADDRESS: "172.17.0.1" }).taskMetadataAddress).toBe("172.17.0.1");
    expect(() => parse(["--task-metadata-port", "65536"])).toThrow(/--task-metadata-port must be a port number/);
    expect(() => parse(["--task-metadata-address", "docker0"])).toThrow(/--task-metadata-address must be an IP address/);
  });

  test("pause image: the built-in one unless --pause-image or FLOTILLA_PAUSE_IMAGE names another", () => {
    expect(parse([]).pauseImage).toBeUndefined();
    expect(parse(["--pause-image", "busybox:stable"]).pauseImage).toBe("busybox:stable");
    expect(parse([], { FLOTILLA_PAUSE_IMAGE: "registry.local/pause:1" }).pauseImage).toBe("registry.local/pause:1");
    expect(parse([], { FLOTILLA_PAUSE_IMAGE: "" }).pauseImage).toBeUndefined();
  });

  test("bad values are one readable error naming the flag", () => {
    expect(() => parse(["--introspection-port", "http"])).toThrow(ConfigError);
    expect(() => parse(["--introspection-port", "65536"])).toThrow(/--introspection-port must be a port number/);
    expect(() => parse(["--health-interval", "0"])).toThrow(/--health-interval/);
    expect(() => parse(["--health-min-disk-free", "lots"])).toThrow(/--health-min-disk-free must be a size/);
  });

  test("cluster (as ECS_CLUSTER): a flag or FLOTILLA_CLUSTER, ECS's cluster-name characters; absent by default", () => {
    expect(parse([]).cluster).toBeUndefined();
    expect(parse(["--cluster", "edge"]).cluster).toBe("edge");
    expect(parse([], { FLOTILLA_CLUSTER: "edge_2" }).cluster).toBe("edge_2");
    expect(parse(["--cluster", "a"], { FLOTILLA_CLUSTER: "b" }).cluster).toBe("a");
    expect(() => parse(["--cluster", "no/slash"])).toThrow(/--cluster must be 1-255 letters, digits, hyphens or underscores/);
  });

  test("advertise address: a flag or FLOTILLA_ADVERTISE_ADDRESS, an IP or a DNS name; absent by default", () => {
    expect(parse([]).advertiseAddress).toBeUndefined();
    expect(parse(["--advertise-address", "10.0.0.5"]).advertiseAddress).toBe("10.0.0.5");
    expect(parse(["--advertise-address", "fd00::5"]).advertiseAddress).toBe("fd00::5");
    expect(parse([], { FLOTILLA_ADVERTISE_ADDRESS: "edge-7.example.net" }).advertiseAddress).toBe("edge-7.example.net");
    expect(parse(["--advertise-address", "10.0.0.6"], { FLOTILLA_ADVERTISE_ADDRESS: "10.0.0.5" }).advertiseAddress).toBe("10.0.0.6");
    for (const bad of ["10.0.0.5:80", "http://x", "two words", "bad-.example", "a..b"]) {
      expect(() => parse([`--advertise-address=${bad}`])).toThrow(/--advertise-address must be an IP address or a DNS name/);
    }
  });

  test("MQTT keepalive: 10 s by default, set by flag or environment, 1..65535 (MQTT's 16-bit field)", () => {
    expect(parse([]).keepaliveSeconds).toBe(10);
    expect(parse(["--keepalive-seconds", "3"]).keepaliveSeconds).toBe(3);
    expect(parse([], { FLOTILLA_KEEPALIVE_SECONDS: "30" }).keepaliveSeconds).toBe(30);
    expect(parse(["--keepalive-seconds", "2"], { FLOTILLA_KEEPALIVE_SECONDS: "30" }).keepaliveSeconds).toBe(2);
    expect(parse(["--keepalive-seconds", "1"]).keepaliveSeconds).toBe(1);
    expect(parse(["--keepalive-seconds", "65535"]).keepaliveSeconds).toBe(65535);
    for (const bad of ["0", "65536", "2.5", "-1", "ten", ""]) {
      expect(() => parse([`--keepalive-seconds=${bad}`])).toThrow(ConfigError);
      expect(() => parse([`--keepalive-seconds=${bad}`])).toThrow(`--keepalive-seconds must be a whole number of seconds from 1 to 65535, got "${bad}"`);
    }
    expect(() => parse([], { FLOTILLA_KEEPALIVE_SECONDS: "0" })).toThrow(/--keepalive-seconds/);
  });
});

describe("agent report resync", () => {
  test("every 300 s by default, set by flag or environment, 0 turns it off; anything else is refused", () => {
    expect(parse([]).resyncIntervalSeconds).toBe(300);
    expect(parse(["--resync-interval", "60"]).resyncIntervalSeconds).toBe(60);
    expect(parse(["--resync-interval", "0"]).resyncIntervalSeconds).toBe(0);
    expect(parse([], { FLOTILLA_RESYNC_INTERVAL: "30" }).resyncIntervalSeconds).toBe(30);
    for (const bad of ["-1", "2.5", "often", ""]) {
      expect(() => parse([`--resync-interval=${bad}`])).toThrow(`--resync-interval must be a whole number of seconds (0: off), got "${bad}"`);
    }
  });
});

describe("agent container stats interval", () => {
  test("every 30 s by default, set by flag or environment, 0 turns it off; anything else is refused", () => {
    expect(parse([]).statsIntervalSeconds).toBe(30);
    expect(parse(["--stats-interval", "5"]).statsIntervalSeconds).toBe(5);
    expect(parse(["--stats-interval", "0"]).statsIntervalSeconds).toBe(0);
    expect(parse([], { FLOTILLA_STATS_INTERVAL: "60" }).statsIntervalSeconds).toBe(60);
    for (const bad of ["-1", "0.5", "often"]) {
      expect(() => parse([`--stats-interval=${bad}`])).toThrow(`--stats-interval must be a whole number of seconds (0: off), got "${bad}"`);
    }
  });
});
