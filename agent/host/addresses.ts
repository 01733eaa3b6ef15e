import { readFileSync } from "node:fs";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

/** Interfaces Docker makes for its own networks: their addresses are not reachable from other hosts. */
const DOCKER_INTERFACE = /^(docker\d+|br-[0-9a-f]+|veth)/;

/** Names of the interfaces carrying an IPv4 default route (/proc/net/route: destination 00000000). */
export function defaultRouteInterfaces(routeTable: string): Set<string> {
  const out = new Set<string>();
  for (const line of routeTable.split("\n").slice(1)) {
    const [iface, destination] = line.trim().split(/\s+/);
    if (iface && destination === "00000000") out.add(iface);
  }
  return out;
}

function reachable(a: NetworkInterfaceInfo): boolean {
  if (a.internal) return false;
  if (a.family === "IPv4") return !a.address.startsWith("169.254.");
  // Link-local IPv6 needs a zone to be usable; other hosts cannot be given one.
  return !/^fe[89ab]/i.test(a.address);
}

/**
 * Addresses other hosts can reach this one at, best first: the operator's choice (for multi-homed
 * hosts, NAT), then the IPv4 addresses of the interface with the default route, other IPv4, then
 * IPv6 likewise. Loopback, link-local and Docker's own bridges are left out.
 */
export function hostAddresses(
  opts: { advertise?: string; interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>; routeTable?: string } = {},
): string[] {
  const interfaces = opts.interfaces ?? networkInterfaces();
  let routeTable = opts.routeTable;
  if (routeTable === undefined) {
    try {
      routeTable = readFileSync("/proc/net/route", "utf8");
    } catch {
      routeTable = "";
    }
  }
  const preferred = defaultRouteInterfaces(routeTable);
  const found: { address: string; rank: number }[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    if (DOCKER_INTERFACE.test(name)) continue;
    for (const a of list ?? []) {
      if (!reachable(a)) continue;
      found.push({ address: a.address, rank: (a.family === "IPv4" ? 0 : 2) + (preferred.has(name) ? 0 : 1) });
    }
  }
  // Stable sort: within a rank, the order the system lists them in.
  found.sort((x, y) => x.rank - y.rank);
  return [...new Set([...(opts.advertise ? [opts.advertise] : []), ...found.map((f) => f.address)])];
}
