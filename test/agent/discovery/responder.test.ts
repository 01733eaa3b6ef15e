import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DiscoverySet } from "../../../shared/discovery.ts";
import { FRESH_TTL } from "../../../agent/discovery/answers.ts";
import { startDnsResponder, type DnsResponder } from "../../../agent/discovery/responder.ts";
import { dataOf, queryTcp, queryUdp, rcodeOf, startTestUpstream } from "../../helpers/dns.ts";

const SELF = "inst-a";
const set: DiscoverySet = {
  clusterName: "Prod_Cluster",
  clusterLabel: "prod-cluster",
  generation: 3,
  services: [
    {
      name: "web",
      // Chosen aliases (docs/discovery.md, Chosen names): answered as the name is.
      aliases: ["www", "shop"],
      tasks: [
        { taskId: "t1", instanceId: "inst-b", address: "10.0.0.2", ports: [{ name: "http", containerPort: 80, hostPort: 32768, protocol: "tcp" }] },
        { taskId: "t2", instanceId: "inst-c", address: "10.0.0.3", ports: [{ name: "http", containerPort: 80, hostPort: 32769, protocol: "tcp" }, { containerPort: 9000, hostPort: 9000, protocol: "udp" }] },
        // This host's own tasks: t3 serves, t4 has stopped here (the control does not know yet).
        { taskId: "t3", instanceId: SELF, address: "10.0.0.1", taskAddress: "172.31.0.5", ports: [{ name: "http", containerPort: 80, hostPort: 8080, protocol: "tcp" }] },
        { taskId: "t4", instanceId: SELF, address: "10.0.0.1", ports: [{ name: "http", containerPort: 80, hostPort: 8081, protocol: "tcp" }] },
      ],
    },
    { name: "idle", tasks: [] },
    {
      name: "wide",
      tasks: [1, 2, 3].map((n) => ({ taskId: String(n).repeat(32), instanceId: "inst-b", address: `10.2.0.${n}`, ports: [{ name: "http", containerPort: 80, hostPort: 30000 + n, protocol: "tcp" as const }] })),
    },
    {
      name: "big",
      tasks: Array.from({ length: 60 }, (_, i) => ({ taskId: `b${i}`, instanceId: "inst-b", address: `10.1.0.${i + 1}`, ports: [] })),
    },
  ],
};

let responder: DnsResponder;
let upstream: Awaited<ReturnType<typeof startTestUpstream>>;
let stale = false;

beforeAll(async () => {
  upstream = await startTestUpstream({ "example.test": "192.0.2.7" });
  responder = await startDnsResponder({
    address: "127.0.0.1",
    port: 0,
    upstreams: [upstream],
    context: () => ({ set, instanceId: SELF, localTaskServes: (id) => id === "t3", stale }),
  });
});
afterAll(async () => {
  await responder?.stop();
  await upstream?.stop();
});

describe("discovery DNS responder", () => {
  test("SERVICE.CLUSTER.flotilla: A records of the serving tasks; this host's own tasks as it sees them, awsvpc ones at the task address", async () => {
    const p = await queryUdp(responder, "web.prod-cluster.flotilla", "A");
    expect(rcodeOf(p)).toBe("NOERROR");
    expect(dataOf(p, "A").sort()).toEqual(["10.0.0.2", "10.0.0.3", "172.31.0.5"]);
    expect(p.answers!.every((a) => (a as { ttl?: number }).ttl === FRESH_TTL)).toBe(true);
    expect((p as { flag_aa?: boolean }).flag_aa).toBe(true);
    // Names are case-insensitive.
    expect(dataOf(await queryUdp(responder, "WEB.Prod-Cluster.Flotilla.", "A"), "A")).toHaveLength(3);
  });

  test("_PORTNAME._tcp SRV records carry the host ports, with the targets' addresses as additionals", async () => {
    const p = await queryUdp(responder, "_http._tcp.web.prod-cluster.flotilla", "SRV");
    const srv = dataOf(p, "SRV") as { port: number; target: string }[];
    expect(srv.map((s) => s.port).sort()).toEqual([32768, 32769, 8080]);
    expect(srv.find((s) => s.port === 32768)!.target).toBe("t1.web.prod-cluster.flotilla");
    const extra = (p.additionals ?? []).filter((a) => a.type === "A").map((a) => [a.name, (a as { data: string }).data]);
    expect(extra).toContainEqual(["t1.web.prod-cluster.flotilla", "10.0.0.2"]);
    // The SRV target resolves by itself too.
    expect(dataOf(await queryUdp(responder, "t2.web.prod-cluster.flotilla", "A"), "A")).toEqual(["10.0.0.3"]);
    // An SRV query on the service name lists every bound port.
    expect((dataOf(await queryUdp(responder, "web.prod-cluster.flotilla", "SRV"), "SRV") as { port: number }[]).map((s) => s.port).sort()).toEqual([32768, 32769, 8080, 9000]);
  });

  test("an alias answers as the service's name: A, SRV by port name (targets under the name); an unknown alias is NXDOMAIN", async () => {
    expect(dataOf(await queryUdp(responder, "www.prod-cluster.flotilla", "A"), "A").sort()).toEqual(["10.0.0.2", "10.0.0.3", "172.31.0.5"]);
    const srv = dataOf(await queryUdp(responder, "_http._tcp.Shop.prod-cluster.flotilla", "SRV"), "SRV") as { port: number; target: string }[];
    expect(srv.map((s) => s.port).sort()).toEqual([32768, 32769, 8080]);
    expect(srv.find((s) => s.port === 32768)!.target).toBe("t1.web.prod-cluster.flotilla");
    expect(rcodeOf(await queryUdp(responder, "shops.prod-cluster.flotilla", "A"))).toBe("NXDOMAIN");
  });

  test("a service with no serving task is NOERROR with no answers and the zone's SOA; unknown names are NXDOMAIN", async () => {
    const idle = await queryUdp(responder, "idle.prod-cluster.flotilla", "A");
    expect(rcodeOf(idle)).toBe("NOERROR");
    expect(idle.answers).toEqual([]);
    expect(idle.authorities![0]!.type).toBe("SOA");
    for (const name of ["nope.prod-cluster.flotilla", "web.other-cluster.flotilla", "t4.web.prod-cluster.flotilla", "_grpc._tcp.web.prod-cluster.flotilla"]) {
      expect(rcodeOf(await queryUdp(responder, name, "A"))).toBe("NXDOMAIN");
    }
  });

  test("names outside .flotilla go to the upstream resolver", async () => {
    const p = await queryUdp(responder, "example.test", "A");
    expect(dataOf(p, "A")).toEqual(["192.0.2.7"]);
    expect(upstream.queries).toContain("example.test");
    expect(rcodeOf(await queryUdp(responder, "missing.test", "A"))).toBe("NXDOMAIN");
  });

  test("stale records (not renewed within the bound) are still answered, with TTL 0", async () => {
    stale = true;
    try {
      const p = await queryUdp(responder, "web.prod-cluster.flotilla", "A");
      expect(p.answers!.length).toBe(3);
      expect(p.answers!.every((a) => (a as { ttl?: number }).ttl === 0)).toBe(true);
    } finally {
      stale = false;
    }
  });

  test("additionals that do not fit in UDP are left out before answers are", async () => {
    // Small: everything fits.
    expect((await queryUdp(responder, "_http._tcp.web.prod-cluster.flotilla", "SRV")).additionals!.length).toBeGreaterThan(0);
    // Three SRV records with 32-character task ids fit in 512 bytes, their addresses with them do not.
    const wide = await queryUdp(responder, "_http._tcp.wide.prod-cluster.flotilla", "SRV");
    expect((wide as { flag_tc?: boolean }).flag_tc).toBe(false);
    expect(dataOf(wide, "SRV")).toHaveLength(3);
    expect(wide.additionals).toEqual([]);
    expect(dataOf(await queryTcp(responder, "_http._tcp.wide.prod-cluster.flotilla", "SRV"), "SRV")).toHaveLength(3);
  });

  test("an answer too large for UDP is truncated (TC) and complete over TCP", async () => {
    const udp = await queryUdp(responder, "big.prod-cluster.flotilla", "A");
    expect((udp as { flag_tc?: boolean }).flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const tcp = await queryTcp(responder, "big.prod-cluster.flotilla", "A");
    expect(dataOf(tcp, "A")).toHaveLength(60);
  });

  test("no upstream answering is SERVFAIL, not a timeout", async () => {
    const lonely = await startDnsResponder({ address: "127.0.0.1", port: 0, upstreams: [], context: () => ({ set, instanceId: SELF, localTaskServes: () => true, stale: false }) });
    try {
      expect(rcodeOf(await queryUdp(lonely, "example.test", "A"))).toBe("SERVFAIL");
      expect(lonely.stats.failed).toBe(1);
    } finally {
      await lonely.stop();
    }
  });
});
