import { Aedes, type AuthenticateError, type Client } from "aedes";
import { createServer, type AddressInfo, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { CONTROL_USERNAME, clientIdAllowed, maySubscribe, mayPublish, type Principal } from "./acl.ts";
import { AuthRateLimiter, type AuthRateLimitOptions } from "./auth-rate-limit.ts";
import { indexedRetainedPersistence } from "./retained-index.ts";
import { brokerCluster } from "./cluster.ts";
import { isNodeLocalTopic } from "./node-local.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export type Authenticator = (username: string, password: string) => Promise<Principal | null>;

/** PEM contents (not paths) of the broker's certificate chain and key; `ca` asks clients for certificates. */
export interface BrokerTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** When given, client certificates signed by this CA are requested and, if `requireClientCert`, required. */
  ca?: string | Buffer;
  requireClientCert?: boolean;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  authenticate: Authenticator;
  log?: Logger;
  /** Serve MQTT over TLS (mqtts://) instead of plain TCP. */
  tls?: BrokerTls;
  rateLimit?: AuthRateLimitOptions;
  /** Largest payload a non-control client may publish; larger ones are refused and counted. */
  maxPayloadBytes?: number;
  /**
   * redis:// URL: this broker is one node of a cluster sharing messages and state through Redis
   * (cluster.ts). Registrations and reports are then handed to the control process of the node
   * they were published on only (node-local.ts), so each is applied once.
   */
  clusterUrl?: string;
}

export interface EmbeddedBrokerStats {
  refusedConnects: number;
  rateLimitedConnects: number;
  refusedPublishes: number;
  oversizedPublishes: number;
  refusedSubscribes: number;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Drops a client's connection at once (deregistration, revoked credential). */
  disconnect(clientId: string): void;
  stats: EmbeddedBrokerStats;
  /** Clients connected right now (the embedded broker's count; absent for an external one). */
  connectedClients?: () => number;
}

function authError(message: string, returnCode = 5): AuthenticateError {
  // 5 = "not authorized" in MQTT 3.1.1 CONNACK; 3 = "server unavailable".
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** True when the client's TLS socket presented a certificate that verified against the CA. */
function hasVerifiedCert(client: Client): boolean {
  const conn = (client as unknown as { conn?: { authorized?: boolean } }).conn;
  return conn?.authorized === true;
}

function addressOf(client: Client): string {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
  return conn?.remoteAddress ?? "unknown";
}

/**
 * aedes in-process, with every connection authenticated and every publish and subscribe checked
 * against the principal's ACL (control/broker/acl.ts). Failed authentications are rate-limited
 * per client address.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const principals = new WeakMap<Client, Principal>();
  const clients = new Map<string, Client>();
  const stats: EmbeddedBrokerStats = { refusedConnects: 0, rateLimitedConnects: 0, refusedPublishes: 0, oversizedPublishes: 0, refusedSubscribes: 0 };
  const log = withComponent(opts.log ?? silentLogger, "broker");
  const limiter = new AuthRateLimiter(opts.rateLimit);
  const maxPayload = opts.maxPayloadBytes ?? 1024 * 1024;
  const requireCert = opts.tls?.ca !== undefined && (opts.tls.requireClientCert ?? false);
  const cluster = opts.clusterUrl ? brokerCluster(opts.clusterUrl, (e) => log.warn(`broker cluster (Redis): ${e.message}`)) : undefined;
  let brokerId = "";
  const broker = await Aedes.createBroker({
    // Clustered, a node that dies is noticed by the others after 3 heartbeats, and only then are
    // the last wills of its clients published: keep that within the agents' own failover time.
    heartbeatInterval: cluster ? 5_000 : 60_000,
    // Alone: retained lookups by exact topic, see retained-index.ts (fleet bring-up was O(fleet²)).
    // Clustered: Redis (aedes-persistence-redis looks an exact topic up with one HGET).
    ...(cluster ? { mq: cluster.mq, persistence: cluster.persistence } : { persistence: indexedRetainedPersistence() }),
    authenticate: (client, username, password, done) => {
      const address = addressOf(client);
      const blocked = limiter.blocked(address);
      const refuseBlocked = () => {
        stats.rateLimitedConnects++;
        stats.refusedConnects++;
        log.warn({ clientId: client.id, address }, `refused connection ${client.id} from ${address}: too many failed authentications`);
        // "Server unavailable", not "not authorized": agents sharing the address (NAT) retry
        // instead of concluding they were deregistered and exiting.
        done(authError("too many failed authentications", 3), false);
      };
      if (blocked && username !== CONTROL_USERNAME) return refuseBlocked();
      const refuse = (why: string) => {
        stats.refusedConnects++;
        limiter.recordFailure(address);
        log.warn({ clientId: client.id, address }, `refused connection ${client.id} from ${address}: ${why}`);
        done(authError(why), false);
      };
      if (!username || !password) return refuse("no credentials");
      opts
        .authenticate(username, password.toString())
        .then((p) => {
          // A blocked address keeps only the control service's own (256-bit random) identity.
          if (blocked && p?.kind !== "control") return refuseBlocked();
          if (!p) return refuse("bad credentials");
          if (!clientIdAllowed(p, client.id)) return refuse("client id not allowed for these credentials");
          if (requireCert && p.kind !== "control" && !hasVerifiedCert(client)) return refuse("no client certificate signed by the configured CA");
          principals.set(client, p);
          done(null, true);
        })
        .catch((e: Error) => refuse(`authentication failed: ${e.message}`));
    },
    authorizePublish: (client, packet, done) => {
      // client is null for messages the broker itself publishes.
      if (!client) return done(null);
      const p = principals.get(client);
      if (p && p.kind !== "control" && packet.payload && packet.payload.length > maxPayload) {
        stats.oversizedPublishes++;
        stats.refusedPublishes++;
        log.warn({ clientId: client.id, topic: packet.topic }, `refused publish by ${client.id} to ${packet.topic}: payload of ${packet.payload.length} bytes`);
        return done(new Error("payload too large"));
      }
      if (p && mayPublish(p, client.id, packet.topic)) return done(null);
      stats.refusedPublishes++;
      log.warn({ clientId: client.id, topic: packet.topic }, `refused publish by ${client.id} to ${packet.topic}`);
      done(new Error("not authorized"));
    },
    authorizeSubscribe: (client, sub, done) => {
      const p = principals.get(client);
      if (p && maySubscribe(p, client.id, sub.topic)) return done(null, sub);
      stats.refusedSubscribes++;
      log.warn({ clientId: client.id, topic: sub.topic }, `refused subscribe by ${client.id} to ${sub.topic}`);
      done(null, null);
    },
    // Clustered, every node's control process subscribes to every registration and report; each
    // gets only those published on its own node, so exactly one process applies each.
    authorizeForward: (client, packet) => {
      if (!cluster || !isNodeLocalTopic(packet.topic) || principals.get(client)?.kind !== "control") return packet;
      return packet.brokerId === brokerId ? packet : null;
    },
  });
  brokerId = broker.id;
  broker.on("client", (c) => clients.set(c.id, c));
  broker.on("clientDisconnect", (c) => {
    if (clients.get(c.id) === c) clients.delete(c.id);
  });
  const tls = opts.tls;
  const server: Server = tls
    ? createTlsServer(
        // Certificates are checked at CONNECT (below), not in the handshake: the control's own
        // in-process link has no client certificate and needs none.
        { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: false },
        broker.handle,
      )
    : createServer(broker.handle);
  // A client that fails the TLS handshake must not take the broker down.
  server.on("tlsClientError", (e: Error) => log.warn(`TLS handshake failed: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? "mqtts" : "mqtt"}://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`,
    port,
    stats,
    connectedClients: () => broker.connectedClients,
    disconnect: (clientId) => clients.get(clientId)?.close(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients.values()) c.close();
        server.close(() => broker.close(() => resolve()));
      }).then(() => cluster?.close()),
  };
}
