import { isIPv4, isIPv6 } from "node:net";
import dnsPacket, { type Answer, type Packet, type Question } from "dns-packet";
import { DISCOVERY_DOMAIN, type DiscoverySet, type DiscoveryTask } from "../../shared/discovery.ts";

/** Seconds a fresh answer may be cached: short, so a stopped task leaves resolvers' caches quickly. */
export const FRESH_TTL = 5;

export interface AnswerContext {
  set: DiscoverySet | null;
  /** This agent's instance id: its own tasks are checked against what it sees itself. */
  instanceId: string;
  /** Whether a task of this instance may receive traffic now (local runner state). */
  localTaskServes(taskId: string): boolean;
  /** Records not renewed within the stale bound are still served, with TTL 0 (nobody caches them). */
  stale: boolean;
}

/** What to send back: a response to encode, or "forward" (a name outside .flotilla goes upstream). */
export type Reply = { rcode: "NOERROR" | "NXDOMAIN"; answers: Answer[]; additionals: Answer[]; authorities: Answer[] } | "forward";

const ROOT = `.${DISCOVERY_DOMAIN}`;

export function isDiscoveryName(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  return n === DISCOVERY_DOMAIN || n.endsWith(ROOT);
}

/**
 * Answers one question from the discovery set. Names (case-insensitive):
 *   SERVICE.CLUSTER.flotilla                 A/AAAA: the addresses of its serving tasks; SRV: every bound port
 *                                            (SERVICE: the name the set carries, or one of its aliases)
 *   _PORTNAME._tcp.SERVICE.CLUSTER.flotilla   SRV: the ports named PORTNAME (portMappings[].name)
 *   TASKID.SERVICE.CLUSTER.flotilla           A/AAAA: that task's address (the SRV targets)
 * A known service with no serving task is NOERROR with no answers (and the zone's SOA, so
 * resolvers cache the absence briefly); an unknown name under .flotilla is NXDOMAIN.
 */
export function answer(q: Question, ctx: AnswerContext): Reply {
  const name = q.name.toLowerCase().replace(/\.$/, "");
  if (!isDiscoveryName(name)) return "forward";
  const ttl = ctx.stale ? 0 : FRESH_TTL;
  const set = ctx.set;
  const zone = set ? `${set.clusterLabel}${ROOT}` : undefined;
  const soa = (): Answer => ({
    type: "SOA",
    name: zone ?? DISCOVERY_DOMAIN,
    ttl,
    data: { mname: `ns.${zone ?? DISCOVERY_DOMAIN}`, rname: `hostmaster.${zone ?? DISCOVERY_DOMAIN}`, serial: (set?.generation ?? 0) % 2 ** 32, refresh: 60, retry: 10, expire: 300, minimum: FRESH_TTL },
  });
  const nx = (): Reply => ({ rcode: "NXDOMAIN", answers: [], additionals: [], authorities: [soa()] });
  const empty = (): Reply => ({ rcode: "NOERROR", answers: [], additionals: [], authorities: [soa()] });
  if (!set || !zone || !(name === zone || name.endsWith(`.${zone}`))) return nx();
  if (name === zone) return q.type === "SOA" ? { rcode: "NOERROR", answers: [soa()], additionals: [], authorities: [] } : empty();
  const labels = name.slice(0, -zone.length - 1).split(".");
  const asked = labels[labels.length - 1];
  // An alias answers as the service's name does; SRV targets stay under the name.
  const service = set.services.find((s) => s.name === asked) ?? set.services.find((s) => s.aliases?.includes(asked!));
  if (!service) return nx();
  const serving = service.tasks.filter((t) => t.instanceId !== ctx.instanceId || ctx.localTaskServes(t.taskId));
  const addressOf = (t: DiscoveryTask) => (t.instanceId === ctx.instanceId && t.taskAddress ? t.taskAddress : t.address);
  const target = (t: DiscoveryTask) => `${t.taskId}.${service.name}.${zone}`;
  const addressRecords = (owner: string, list: DiscoveryTask[], type: "A" | "AAAA"): Answer[] => {
    const addrs = [...new Set(list.map(addressOf))].filter((a) => (type === "A" ? isIPv4(a) : isIPv6(a)));
    return addrs.map((data) => ({ type, name: owner, ttl, data }) as Answer);
  };
  const srv = (portName?: string, protocol?: "tcp" | "udp"): Reply => {
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    for (const t of serving) {
      const ports = t.ports.filter((p) => (portName === undefined || p.name === portName) && (protocol === undefined || p.protocol === protocol));
      for (const p of ports) answers.push({ type: "SRV", name, ttl, data: { priority: 0, weight: 1, port: p.hostPort, target: target(t) } });
      if (ports.length) additionals.push(...addressRecords(target(t), [t], "A"), ...addressRecords(target(t), [t], "AAAA"));
    }
    return answers.length ? { rcode: "NOERROR", answers, additionals, authorities: [] } : empty();
  };
  if (labels.length === 1) {
    if (q.type === "A" || q.type === "AAAA") {
      const answers = addressRecords(name, serving, q.type);
      return answers.length ? { rcode: "NOERROR", answers, additionals: [], authorities: [] } : empty();
    }
    if (q.type === "SRV") return srv();
    return empty();
  }
  if (labels.length === 2) {
    const task = service.tasks.find((t) => t.taskId.toLowerCase() === labels[0]);
    if (!task || !serving.includes(task)) return nx();
    if (q.type !== "A" && q.type !== "AAAA") return empty();
    const answers = addressRecords(name, [task], q.type);
    return answers.length ? { rcode: "NOERROR", answers, additionals: [], authorities: [] } : empty();
  }
  if (labels.length === 3 && labels[0]!.startsWith("_") && (labels[1] === "_tcp" || labels[1] === "_udp")) {
    const portName = labels[0]!.slice(1);
    const protocol = labels[1] === "_tcp" ? "tcp" : "udp";
    if (!service.tasks.some((t) => t.ports.some((p) => p.name === portName && p.protocol === protocol))) return nx();
    return q.type === "SRV" ? srv(portName, protocol) : empty();
  }
  return nx();
}

/** The response packet for a query, given the reply for its (first) question. */
export function responsePacket(query: Packet, reply: Exclude<Reply, "forward">): Packet {
  return {
    type: "response",
    id: query.id,
    // AA: the agent is the authority for .flotilla; RA: it forwards everything else.
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | (reply.rcode === "NXDOMAIN" ? 3 : 0),
    questions: query.questions,
    answers: reply.answers,
    authorities: reply.authorities,
    additionals: reply.additionals,
  };
}
