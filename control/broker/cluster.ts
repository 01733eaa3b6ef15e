import createRedisEmitter from "mqemitter-redis";
import createRedisPersistence from "aedes-persistence-redis";
import type { AedesOptions } from "aedes";

/**
 * The engines that make several embedded aedes brokers one MQTT broker (docs/operations.md,
 * "Clustered embedded broker"): mqemitter-redis carries every publish to every node, and
 * aedes-persistence-redis keeps retained messages, sessions, wills and QoS state in Redis, so
 * an agent finds its retained desired set whichever node it reaches.
 */
export interface BrokerCluster {
  mq: AedesOptions["mq"];
  persistence: AedesOptions["persistence"];
  /** Closes the persistence's Redis connections (aedes' own close ends only the emitter's). */
  close(): Promise<void>;
}

/** redis://[user:password@]host:port[/db] (rediss:// for TLS) as ioredis connection options. */
export function redisConnectionOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`broker cluster URL must be redis:// or rediss://, got "${url}"`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`broker cluster URL's database must be a number, got "${u.pathname.slice(1)}"`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    // A Redis that is down is retried for ever (the broker keeps serving its own node meanwhile).
    maxRetriesPerRequest: null,
  };
}

export function brokerCluster(url: string, onError: (e: Error) => void): BrokerCluster {
  const conn = redisConnectionOptions(url);
  const mq = createRedisEmitter(conn);
  // A Redis that went away is said, not thrown: ioredis reconnects by itself.
  (mq as unknown as { state: { on(event: "error", f: (e: Error) => void): void } }).state.on("error", onError);
  const persistence = createRedisPersistence(conn) as { destroy(): Promise<void> };
  return {
    mq,
    persistence,
    // Bounded: a Redis that is gone must not keep a stopping control from exiting. (The callback
    // form of destroy waits for a "ready" that has already passed, and never calls back.)
    close: () => Promise.race([persistence.destroy().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]),
  };
}
