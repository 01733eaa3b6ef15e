import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { isIP } from "node:net";
import dnsPacket, { type Packet } from "dns-packet";
import { answer, responsePacket, type AnswerContext } from "./answers.ts";
import { forwardQuery, type Upstream } from "./upstream.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface DnsResponderOptions {
  address: string;
  /** 53 for containers (Docker's Dns takes addresses only); 0: any free port (tests). */
  port: number;
  /** The records as they are now (read per query: a new set applies to the next query). */
  context(): AnswerContext;
  /** Where names outside .flotilla go. */
  upstreams: Upstream[];
  log?: Logger;
}

export interface DnsResponder {
  address: string;
  port: number;
  /** Queries answered from discovery records, forwarded, and failed (malformed or no upstream answered). */
  stats: { answered: number; forwarded: number; failed: number };
  stop(): Promise<void>;
}

/** Without EDNS a UDP answer is at most 512 bytes (RFC 1035); with it, what the client says, up to 4096. */
function udpLimit(q: Packet): number {
  const opt = q.additionals?.find((a) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
  return Math.min(Math.max(opt?.udpPayloadSize ?? 512, 512), 4096);
}

/**
 * The agent's DNS responder: answers SERVICE.CLUSTER.flotilla from the discovery records it holds
 * (no call to the control service per lookup) and forwards every other name to the host's
 * resolvers, over UDP and TCP on one address and port.
 */
export async function startDnsResponder(opts: DnsResponderOptions): Promise<DnsResponder> {
  const stats = { answered: 0, forwarded: 0, failed: 0 };
  const log = withComponent(opts.log ?? silentLogger, "dns");

  /** The response bytes for one query; null: nothing to send (not a query). */
  const respond = async (msg: Buffer, limit: (q: Packet) => number): Promise<Buffer | null> => {
    let q: Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      stats.failed++;
      return null;
    }
    if (q.type !== "query" || !q.questions?.length) return null;
    const reply = answer(q.questions[0]!, opts.context());
    if (reply === "forward") {
      const got = await forwardQuery(msg, opts.upstreams);
      if (got) {
        stats.forwarded++;
        return got;
      }
      stats.failed++;
      // SERVFAIL: the client tries its next server or tells its caller, instead of waiting out a timeout.
      return dnsPacket.encode({ type: "response", id: q.id, flags: ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | 2, questions: q.questions, answers: [] });
    }
    stats.answered++;
    const out = dnsPacket.encode(responsePacket(q, reply));
    if (out.length <= limit(q)) return out;
    // dns-packet does not compress names, so SRV answers with their targets' addresses outgrow 512
    // bytes quickly. The additional section goes first (a client that lacks an address asks for
    // it; RFC 2181 9: no TC for that), then the answers, with TC telling the client to ask over TCP.
    const lean = dnsPacket.encode(responsePacket(q, { ...reply, additionals: [] }));
    if (lean.length <= limit(q)) return lean;
    const cut = responsePacket(q, { ...reply, answers: [], additionals: [], authorities: [] });
    return dnsPacket.encode({ ...cut, flags: (cut.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
  };

  const onUdp = (udp: Socket) => (msg: Buffer, rinfo: { port: number; address: string }) => {
    void respond(msg, udpLimit).then((out) => {
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
  };
  const conns = new Set<import("node:net").Socket>();
  const onTcp = (conn: import("node:net").Socket) => {
    conns.add(conn);
    conn.on("close", () => conns.delete(conn));
    let buf = Buffer.alloc(0);
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on("error", () => conn.destroy());
    // Two-byte length prefix per message (RFC 1035 4.2.2); several queries may share a connection.
    conn.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void respond(Buffer.from(msg), () => 65535).then((out) => {
          if (!out || conn.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          conn.write(Buffer.concat([len, out]));
        });
      }
      if (buf.length > 65537) conn.destroy();
    });
  };
  // Port 0: the UDP port the system picks may be taken for TCP; pick again a few times.
  let bound: { udp: Socket; tcp: Server } | undefined;
  for (let attempt = 0; !bound; attempt++) {
    const udp = createSocket(isIP(opts.address) === 6 ? "udp6" : "udp4");
    udp.on("message", onUdp(udp));
    await listening((done) => {
      udp.once("error", done);
      udp.bind(opts.port, opts.address, () => {
        udp.off("error", done);
        done();
      });
    });
    udp.on("error", (e) => log.warn(e.message));
    const tcp = createServer(onTcp);
    try {
      await listening((done) => {
        tcp.once("error", done);
        tcp.listen(udp.address().port, opts.address, () => {
          tcp.off("error", done);
          done();
        });
      });
      bound = { udp, tcp };
    } catch (e) {
      udp.close();
      if (opts.port !== 0 || attempt >= 10) throw e;
    }
  }
  const { udp, tcp } = bound;
  const port = udp.address().port;

  return {
    address: opts.address,
    port,
    stats,
    async stop() {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

function listening(start: (done: (e?: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((e) => (e ? reject(e) : resolve())));
}
