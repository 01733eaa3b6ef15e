import { describe, expect, test } from "bun:test";
import type { NetworkInterfaceInfo } from "node:os";
import { defaultRouteInterfaces, hostAddresses } from "../../../agent/host/addresses.ts";
import { hostFacts } from "../../../agent/host/facts.ts";

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:01", internal, cidr: `${address}/24` });
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:01", internal, cidr: `${address}/64`, scopeid: 0 });

const ROUTES = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
  "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
].join("\n");

const INTERFACES = {
  lo: [v4("127.0.0.1", true), v6("::1", true)],
  eth0: [v4("10.0.3.7"), v6("fe80::1"), v6("fd00::7")],
  docker0: [v4("172.17.0.1")],
  "br-5daa9508c365": [v4("172.18.0.1")],
  veth5e32173: [v6("fe80::30b1:31ff:fee9:34ed")],
  wlan0: [v4("192.168.1.20"), v4("169.254.3.3"), v6("2001:db8::20")],
};

describe("host addresses (reported in the facts for service endpoints)", () => {
  test("the default route's interface reads from /proc/net/route", () => {
    expect([...defaultRouteInterfaces(ROUTES)]).toEqual(["wlan0"]);
    expect([...defaultRouteInterfaces("")]).toEqual([]);
  });

  test("non-loopback IPv4 then IPv6, the default-route interface first; Docker's bridges and link-local left out", () => {
    expect(hostAddresses({ interfaces: INTERFACES, routeTable: ROUTES })).toEqual(["192.168.1.20", "10.0.3.7", "2001:db8::20", "fd00::7"]);
  });

  test("the operator's --advertise-address comes first, once", () => {
    expect(hostAddresses({ advertise: "10.0.3.7", interfaces: INTERFACES, routeTable: ROUTES })).toEqual(["10.0.3.7", "192.168.1.20", "2001:db8::20", "fd00::7"]);
    expect(hostAddresses({ advertise: "edge-7.example.net", interfaces: { lo: INTERFACES.lo }, routeTable: "" })).toEqual(["edge-7.example.net"]);
  });

  test("a host with only loopback reports none; the facts carry the list", () => {
    expect(hostAddresses({ interfaces: { lo: INTERFACES.lo }, routeTable: "" })).toEqual([]);
    const info = { version: "27.0.1", cpus: 2, memoryBytes: 4 * 1024 ** 3, architecture: "x86_64", osType: "linux" };
    expect(hostFacts(info, {}, { addresses: () => ["10.0.3.7"] }).addresses).toEqual(["10.0.3.7"]);
    // On this machine: whatever it has, never loopback.
    expect(hostFacts(info).addresses!.some((a) => a === "127.0.0.1" || a === "::1")).toBe(false);
  });
});
