import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

export interface Upstream {
  address: string;
  port: number;
}

/** How long one upstream may take before the next is asked (glibc's resolver waits 5 s; clients retry sooner). */
const UPSTREAM_TIMEOUT_MS = 2_000;

/** "10.0.0.2", "10.0.0.2:5353", "[::1]:53" → an upstream; throws on anything else. */
export function parseUpstream(s: string): Upstream {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const address = m?.[1] ?? s;
  const port = m?.[2] ? Number(m[2]) : 53;
  if (!isIP(address) || port < 1 || port > 65535) throw new Error(`not an IP address with an optional port: "${s}"`);
  return { address, port };
}

/** The host's resolvers: the `nameserver` lines of resolv.conf (what the host itself uses). */
export function hostResolvers(path = "/etc/resolv.conf"): Upstream[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const out: Upstream[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A zone id (fe80::1%eth0) is kept out: dgram wants it in the address, and link-local upstreams are rare.
    if (m && isIP(m[1]!)) out.push({ address: m[1]!, port: 53 });
  }
  return out;
}

/**
 * Sends the query as it came to each upstream in turn and resolves with the first answer, or null
 * when none answers. A socket per query, so each has its own random source port.
 */
export async function forwardQuery(query: Buffer, upstreams: Upstream[], timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | null> {
  const id = query.readUInt16BE(0);
  for (const u of upstreams) {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const sock = createSocket(isIP(u.address) === 6 ? "udp6" : "udp4");
      const done = (r: Buffer | null) => {
        clearTimeout(timer);
        sock.close();
        resolve(r);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      sock.on("error", () => done(null));
      sock.on("message", (msg, from) => {
        // Only the upstream asked, with our id: anything else on the socket is ignored.
        if (from.address !== u.address || from.port !== u.port || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
        done(msg);
      });
      sock.send(query, u.port, u.address, (e) => e && done(null));
    });
    if (reply) return reply;
  }
  return null;
}
