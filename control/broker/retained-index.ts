import memory from "aedes-persistence";
import { Readable } from "node:stream";

interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

const hasWildcard = (pattern: string) => pattern.includes("+") || pattern.includes("#");

/**
 * aedes' memory persistence with an exact-topic index of retained messages. The stock one matches
 * every retained message against each new subscription, and every agent subscribes to its own
 * exact desired topic while every agent keeps a retained presence flag: O(fleet) per subscribe,
 * O(fleet²) to bring a fleet up (10,000 agents: ~2·10⁸ topic matches). Exact patterns are now one
 * map lookup; wildcard patterns (only the control service's own) still take the stock path.
 */
export function indexedRetainedPersistence() {
  const persistence = memory();
  const byTopic = new Map<string, RetainedPacket>();
  // The callback layer takes (packet, cb) or (packet) → Promise; pass both forms through.
  const storeRetained = persistence.storeRetained.bind(persistence) as (packet: RetainedPacket, cb?: (err?: Error | null) => void) => unknown;
  const combi = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.storeRetained = ((packet: RetainedPacket, cb?: (err?: Error | null) => void) => {
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
    return storeRetained(packet, cb);
  }) as typeof persistence.storeRetained;
  persistence.createRetainedStreamCombi = ((patterns: string[]) => {
    if (patterns.some(hasWildcard)) return combi(patterns);
    const found = patterns.map((p) => byTopic.get(p)).filter((p): p is RetainedPacket => p !== undefined);
    return Readable.from(found);
  }) as typeof persistence.createRetainedStreamCombi;
  persistence.createRetainedStream = ((pattern: string) =>
    persistence.createRetainedStreamCombi([pattern])) as typeof persistence.createRetainedStream;
  return persistence;
}
