import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscoveryStore } from "../../../agent/discovery/discovery-store.ts";
import { localTaskServes } from "../../../agent/discovery/local-view.ts";
import { hostResolvers } from "../../../agent/discovery/upstream.ts";
import { withDiscoveryDns } from "../../../agent/engine/container-spec.ts";
import type { ContainerSpec } from "../../../agent/runtime/types.ts";
import type { AgentTask } from "../../../agent/store/state-file.ts";
import type { DiscoverySet } from "../../../shared/discovery.ts";

const set = (generation: number, clusterName = "prod"): DiscoverySet => ({ clusterName, clusterLabel: clusterName, generation, services: [{ name: "web", tasks: [] }] });

describe("discovery store", () => {
  test("keeps the newest generation of its own cluster; older, equal and foreign sets are dropped", () => {
    const s = new DiscoveryStore({ clusterName: "prod" });
    expect(s.set).toBeNull();
    expect(s.apply(set(5))).toBe(true);
    expect(s.apply(set(5))).toBe(false);
    expect(s.apply(set(4))).toBe(false);
    expect(s.apply(set(9, "other"))).toBe(false);
    expect(s.generation).toBe(5);
  });

  test("stale once not renewed within the bound; a newer set renews it", () => {
    let now = 1_000;
    const s = new DiscoveryStore({ clusterName: "prod", staleAfterMs: 300_000, now: () => now });
    expect(s.stale()).toBe(true); // nothing yet
    s.apply(set(1));
    now += 300_000;
    expect(s.stale()).toBe(false);
    now += 1;
    expect(s.stale()).toBe(true);
    // The same set again (a retained copy redelivered) renews nothing.
    s.apply(set(1));
    expect(s.stale()).toBe(true);
    s.apply(set(2));
    expect(s.stale()).toBe(false);
  });

  test("survives a restart on disk, with when it was last renewed", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-discovery-"));
    try {
      let now = 50_000;
      const a = new DiscoveryStore({ dataDir: dir, clusterName: "prod", staleAfterMs: 1000, now: () => now });
      a.apply(set(7));
      a.flush();
      expect(JSON.parse(readFileSync(join(dir, "discovery.json"), "utf8"))).toMatchObject({ version: 1, renewedAt: 50_000, set: { generation: 7 } });
      const b = new DiscoveryStore({ dataDir: dir, clusterName: "prod", staleAfterMs: 1000, now: () => now });
      expect(b.set).toEqual(set(7));
      expect(b.stale()).toBe(false);
      now += 1001;
      expect(b.stale()).toBe(true);
      // A host moved to another cluster does not serve the old cluster's records.
      expect(new DiscoveryStore({ dataDir: dir, clusterName: "other" }).set).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("this host's own tasks", () => {
  const task = (over: Partial<AgentTask>, health?: "HEALTHY" | "UNHEALTHY" | "UNKNOWN"): AgentTask =>
    ({ desiredStatus: "RUNNING", knownStatus: "RUNNING", containers: [{ name: "web", essential: true, knownStatus: "RUNNING", ...(health ? { healthStatus: health } : {}) }], ...over }) as AgentTask;
  test("serve when desired and known RUNNING and, with health checks, HEALTHY", () => {
    expect(localTaskServes(task({}))).toBe(true);
    expect(localTaskServes(task({}, "HEALTHY"))).toBe(true);
    expect(localTaskServes(task({}, "UNKNOWN"))).toBe(false);
    expect(localTaskServes(task({}, "UNHEALTHY"))).toBe(false);
    expect(localTaskServes(task({ knownStatus: "STOPPED" }))).toBe(false);
    expect(localTaskServes(task({ desiredStatus: "STOPPED" }))).toBe(false);
    expect(localTaskServes(undefined)).toBe(false);
  });
});

describe("containers' DNS server", () => {
  const spec = (over: Partial<ContainerSpec>) => ({ name: "c", image: "i", labels: {}, networkMode: "bridge", portBindings: [], ...over }) as ContainerSpec;
  test("the responder for bridge and host containers and awsvpc holders; a definition's dnsServers and joined namespaces are left alone", () => {
    expect(withDiscoveryDns(spec({}), "172.17.0.1").dnsServers).toEqual(["172.17.0.1"]);
    expect(withDiscoveryDns(spec({ networkMode: "host" }), "172.17.0.1").dnsServers).toEqual(["172.17.0.1"]);
    expect(withDiscoveryDns(spec({ networkName: "flotilla-task" }), "172.17.0.1").dnsServers).toEqual(["172.17.0.1"]);
    expect(withDiscoveryDns(spec({ dnsServers: ["9.9.9.9"] }), "172.17.0.1").dnsServers).toEqual(["9.9.9.9"]);
    expect(withDiscoveryDns(spec({ networkMode: "container:holder" }), "172.17.0.1").dnsServers).toBeUndefined();
    expect(withDiscoveryDns(spec({ networkMode: "none" }), "172.17.0.1").dnsServers).toBeUndefined();
    expect(withDiscoveryDns(spec({}), undefined).dnsServers).toBeUndefined();
  });
});

describe("host resolvers", () => {
  test("the nameserver lines of resolv.conf", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-resolv-"));
    try {
      const path = join(dir, "resolv.conf");
      writeFileSync(path, "# generated\nnameserver 10.0.0.2\nsearch example.com\nnameserver fd00::53\noptions ndots:2\n");
      expect(hostResolvers(path)).toEqual([{ address: "10.0.0.2", port: 53 }, { address: "fd00::53", port: 53 }]);
      expect(hostResolvers(join(dir, "missing"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
