import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket, { type Answer, type Packet, type RecordType } from "dns-packet";

/** One UDP query with dns-packet, as a stub resolver sends it; the decoded response. */
export async function queryUdp(server: { address: string; port: number }, name: string, type: RecordType, opts: { timeoutMs?: number } = {}): Promise<Packet> {
  const sock = createSocket("udp4");
  const id = Math.floor(Math.random() * 65535);
  try {
    return await new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${type} ${name} from ${server.address}:${server.port}`)), opts.timeoutMs ?? 5000);
      sock.on("message", (msg) => {
        const p = dnsPacket.decode(msg);
        if (p.id !== id) return;
        clearTimeout(timer);
        resolve(p);
      });
      sock.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), server.port, server.address);
    });
  } finally {
    sock.close();
  }
}

/** One query over TCP (two-byte length prefix). */
export async function queryTcp(server: { address: string; port: number }, name: string, type: RecordType): Promise<Packet> {
  const conn = connect(server.port, server.address);
  const q = dnsPacket.streamEncode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  conn.write(q);
  let buf = Buffer.alloc(0);
  try {
    return await new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no TCP answer to ${type} ${name}`)), 5000);
      conn.on("error", reject);
      conn.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          resolve(dnsPacket.streamDecode(buf));
        }
      });
    });
  } finally {
    conn.destroy();
  }
}

export function rcodeOf(p: Packet): string {
  return (p as Packet & { rcode?: string }).rcode ?? "NOERROR";
}

export function dataOf(p: Packet, type: string): unknown[] {
  return (p.answers ?? []).filter((a) => a.type === type).map((a) => (a as Answer & { data: unknown }).data);
}

/**
 * A stand-in upstream resolver on 127.0.0.1: answers A for the names it is given, NXDOMAIN for
 * others, so forwarding is tested without the internet.
 */
export async function startTestUpstream(records: Record<string, string>): Promise<{ address: string; port: number; queries: string[]; stop(): Promise<void> }> {
  const sock: Socket = createSocket("udp4");
  const queries: string[] = [];
  sock.on("message", (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    queries.push(question.name);
    const ip = records[question.name.toLowerCase()];
    const answers: Answer[] = ip && question.type === "A" ? [{ type: "A", name: question.name, ttl: 30, data: ip }] : [];
    const flags = dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3);
    sock.send(dnsPacket.encode({ type: "response", id: q.id, flags, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  return { address: "127.0.0.1", port: sock.address().port, queries, stop: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}
