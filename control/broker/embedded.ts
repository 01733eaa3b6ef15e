import { Aedes, type AuthenticateError, type Client } from "aedes";
import { createServer, type AddressInfo, type Server } from "node:net";
import { clientIdAllowed, maySubscribe, mayPublish, type Principal } from "./acl.ts";

export type Authenticator = (username: string, password: string) => Promise<Principal | null>;

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  authenticate: Authenticator;
  log?: (line: string) => void;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Drops a client's connection at once (deregistration, revoked credential). */
  disconnect(clientId: string): void;
  stats: { refusedConnects: number; refusedPublishes: number; refusedSubscribes: number };
}

function authError(message: string): AuthenticateError {
  // 5 = "not authorized" in MQTT 3.1.1 CONNACK.
  return Object.assign(new Error(message), { returnCode: 5 }) as AuthenticateError;
}

/**
 * aedes in-process, with every connection authenticated and every publish and subscribe checked
 * against the principal's ACL (control/broker/acl.ts).
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const principals = new WeakMap<Client, Principal>();
  const clients = new Map<string, Client>();
  const stats = { refusedConnects: 0, refusedPublishes: 0, refusedSubscribes: 0 };
  const log = opts.log ?? (() => {});
  const broker = await Aedes.createBroker({
    heartbeatInterval: 60_000,
    authenticate: (client, username, password, done) => {
      const refuse = (why: string) => {
        stats.refusedConnects++;
        log(`[broker] refused connection ${client.id}: ${why}`);
        done(authError(why), false);
      };
      if (!username || !password) return refuse("no credentials");
      opts
        .authenticate(username, password.toString())
        .then((p) => {
          if (!p) return refuse("bad credentials");
          if (!clientIdAllowed(p, client.id)) return refuse("client id not allowed for these credentials");
          principals.set(client, p);
          done(null, true);
        })
        .catch((e: Error) => refuse(`authentication failed: ${e.message}`));
    },
    authorizePublish: (client, packet, done) => {
      // client is null for messages the broker itself publishes.
      if (!client) return done(null);
      const p = principals.get(client);
      if (p && mayPublish(p, client.id, packet.topic)) return done(null);
      stats.refusedPublishes++;
      log(`[broker] refused publish by ${client.id} to ${packet.topic}`);
      done(new Error("not authorized"));
    },
    authorizeSubscribe: (client, sub, done) => {
      const p = principals.get(client);
      if (p && maySubscribe(p, client.id, sub.topic)) return done(null, sub);
      stats.refusedSubscribes++;
      log(`[broker] refused subscribe by ${client.id} to ${sub.topic}`);
      done(null, null);
    },
  });
  broker.on("client", (c) => clients.set(c.id, c));
  broker.on("clientDisconnect", (c) => {
    if (clients.get(c.id) === c) clients.delete(c.id);
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`,
    port,
    stats,
    disconnect: (clientId) => clients.get(clientId)?.close(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients.values()) c.close();
        server.close(() => broker.close(() => resolve()));
      }),
  };
}
