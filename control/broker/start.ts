import type mqtt from "mqtt";
import type { AuthRateLimitOptions } from "./auth-rate-limit.ts";
import { startEmbeddedBroker, type Authenticator, type BrokerTls, type EmbeddedBroker } from "./embedded.ts";
import { ExternalBroker, type ExternalBrokerOptions } from "./external.ts";
import { withComponent, type Logger } from "../../shared/log.ts";

export interface BrokerChoice {
  /** clusterUrl (redis://): this embedded broker is one node of several (cluster.ts). */
  embedded: { host: string; port: number; tls?: BrokerTls; rateLimit?: AuthRateLimitOptions; clusterUrl?: string };
  /** When set, agents use this Mosquitto instead of the embedded broker. */
  external?: ExternalBrokerOptions;
  authenticate: Authenticator;
  controlPassword: string;
  /** The control's broker username on an external broker (HA: one per process). */
  controlUsername?: string;
  log: Logger;
}

/** What the control service needs from whichever broker it runs with. */
export interface RunningBroker {
  /** EmbeddedBroker-shaped handle (for an external broker: counts stay 0, disconnect deletes the client). */
  handle: EmbeddedBroker;
  linkConnectOptions?: mqtt.IClientOptions;
  onRegistered?: (instanceId: string, password: string, clusterName: string) => Promise<void>;
  instanceRevoked(instanceId: string): Promise<void>;
  external?: ExternalBroker;
}

export async function startBroker(choice: BrokerChoice): Promise<RunningBroker> {
  if (!choice.external) {
    const handle = await startEmbeddedBroker({ ...choice.embedded, authenticate: choice.authenticate, log: choice.log });
    return {
      handle,
      // The control reaches its own broker over the bind address; its certificate names the public host.
      linkConnectOptions: choice.embedded.tls ? { rejectUnauthorized: false } : undefined,
      instanceRevoked: async (id) => handle.disconnect(id),
    };
  }
  const ext = await ExternalBroker.start(choice.external);
  await ext.controlClient(choice.controlPassword, choice.controlUsername);
  const port = Number(new URL(ext.url).port || 1883);
  const handle: EmbeddedBroker = {
    url: ext.url,
    port,
    stats: { refusedConnects: 0, rateLimitedConnects: 0, refusedPublishes: 0, oversizedPublishes: 0, refusedSubscribes: 0 },
    disconnect: (id) => void ext.instanceRevoked(id).catch((e: Error) => withComponent(choice.log, "broker").warn({ instanceId: id }, `could not remove client ${id}: ${e.message}`)),
    close: () => ext.close(),
  };
  return {
    handle,
    linkConnectOptions: choice.external.connectOptions,
    onRegistered: (id, password, clusterName) => ext.instanceRegistered(id, password, clusterName),
    instanceRevoked: (id) => ext.instanceRevoked(id),
    external: ext,
  };
}
