import { ne } from "drizzle-orm";
import { createApi } from "./api/app.ts";
import { CONTROL_USERNAME, isActivationUsername, type Principal } from "./broker/acl.ts";
import { startEmbeddedBroker, type BrokerTls, type EmbeddedBroker } from "./broker/embedded.ts";
import type { AuthRateLimitOptions } from "./broker/auth-rate-limit.ts";
import { createSecretStore } from "./ops/secrets.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Database } from "./db/open.ts";
import { containerInstances } from "./db/schema.ts";
import { newSecret, secretMatches, hashSecret } from "./ids.ts";
import { AgentLink } from "./link/agent-link.ts";
import { PlacementIndexCache } from "./scheduling/index-cache.ts";
import { checkActivation } from "./ops/activations.ts";
import { createSerializer, type OpsContext } from "./ops/context.ts";
import { authenticateInstance, markAllDisconnected } from "./ops/instances.ts";
import { ensureAdminToken } from "./ops/tokens.ts";
import { ACTIVATION_USER_PREFIX } from "../shared/topics.ts";

export interface ControlOptions {
  db: Database;
  /** Embedded aedes broker (default) listening on host:port; with tls it serves mqtts://. */
  broker?: { host: string; port: number; tls?: BrokerTls; rateLimit?: AuthRateLimitOptions };
  /** HTTPS when tls (PEM cert chain and key) is given. */
  http?: { host: string; port: number; tls?: { cert: string; key: string } };
  /** 32-byte key that encrypts secrets at rest; without it the secrets API is off. */
  masterKey?: Buffer;
  clock?: Clock;
  /** Admin API token to accept; without one, the first start creates one and reports it. */
  adminToken?: string;
  log?: (line: string) => void;
}

export interface Control {
  ctx: OpsContext;
  api: ReturnType<typeof createApi>;
  httpUrl: string;
  mqttUrl: string;
  /** Set when this start created the admin token: show it once. */
  createdAdminToken?: string;
  link: AgentLink;
  broker: EmbeddedBroker;
  stop(): Promise<void>;
}

/** Builds and starts the control service from its parts, so tests assemble real pieces. */
export async function createControl(opts: ControlOptions): Promise<Control> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const clock = opts.clock ?? systemClock;
  let link: AgentLink | undefined;
  const ctx: OpsContext = {
    db: opts.db.db,
    clock,
    serialize: createSerializer(),
    desiredChanged: (id) => link?.desiredChanged(id),
    indexes: new PlacementIndexCache(opts.db.db, clock),
  };
  const { created } = await ensureAdminToken(ctx, opts.adminToken);

  // The control's own broker identity lives only as long as this process.
  const controlPassword = newSecret();
  const controlHash = hashSecret(controlPassword);
  const authenticate = async (username: string, password: string): Promise<Principal | null> => {
    if (username === CONTROL_USERNAME) return secretMatches(password, controlHash) ? { kind: "control" } : null;
    if (isActivationUsername(username)) {
      const activationId = username.slice(ACTIVATION_USER_PREFIX.length);
      const check = await checkActivation(ctx, activationId, password);
      return check.ok ? { kind: "activation", activationId } : null;
    }
    const inst = await authenticateInstance(ctx, username, password);
    return inst ? { kind: "instance", instanceId: inst.id } : null;
  };

  const brokerAddr = opts.broker ?? { host: "127.0.0.1", port: 1883 };
  const broker = await startEmbeddedBroker({ ...brokerAddr, authenticate, log });
  const secrets = opts.masterKey ? createSecretStore(ctx, opts.masterKey) : undefined;
  // The embedded broker starts empty: connection flags are rebuilt from agents' presence.
  await markAllDisconnected(ctx);

  link = new AgentLink(ctx, {
    url: broker.url,
    username: CONTROL_USERNAME,
    password: controlPassword,
    clientId: `flotilla-control-${process.pid}`,
    log,
    resolveSecrets: secrets ? (td) => secrets.resolveForTask(td) : undefined,
    // The control connects over loopback to its own broker: its certificate names the public host.
    connectOptions: brokerAddr.tls ? { rejectUnauthorized: false } : undefined,
  });
  await link.start();
  const live = await ctx.db.select({ id: containerInstances.id }).from(containerInstances).where(ne(containerInstances.status, "INACTIVE")).all();
  await link.republish(live.map((r) => r.id));

  const api = createApi(ctx, {
    logRequests: () => link?.logRequests,
    secrets,
    log,
    // Deregistration: the credential is already wiped; drop the live session too.
    instanceRevoked: (id) => broker.disconnect(id),
  });
  const httpAddr = opts.http ?? { host: "127.0.0.1", port: 8080 };
  const server = Bun.serve({ hostname: httpAddr.host, port: httpAddr.port, fetch: api.fetch, ...(httpAddr.tls ? { tls: httpAddr.tls } : {}) });
  const host = httpAddr.host.includes(":") ? `[${httpAddr.host}]` : httpAddr.host;

  return {
    ctx,
    api,
    httpUrl: `${httpAddr.tls ? "https" : "http"}://${host}:${server.port}`,
    mqttUrl: broker.url,
    createdAdminToken: created,
    link,
    broker,
    stop: async () => {
      await server.stop(true);
      await link!.stop();
      await broker.close();
    },
  };
}

