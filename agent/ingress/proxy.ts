import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { IngressListener, IngressTarget } from "../../shared/ingress.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface IngressProxyOptions {
  /** The host address the listeners bind ("0.0.0.0": every IPv4 address of the host). */
  address: string;
  log?: Logger;
  /**
   * Whether a task of this host still serves, asked per connection (the agent's own view: a local
   * task it sees stopped gets no connection even before the control's next set).
   */
  localServes?: (taskId: string) => boolean;
  /** A listen port could not be bound (or bound again): said once per change, for the agent's report. */
  onProblem?: (listenPort: number, message: string | null) => void;
}

interface Listening {
  service: string;
  server: Server;
  targets: IngressTarget[];
  /** Round-robin position, shared by local and remote targets. */
  next: number;
  /** The bind failed; tried again at the next update. */
  failed?: string;
}

/** How many targets a connection tries before it is given up (a target that refuses is skipped). */
const MAX_ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 3_000;

/**
 * The host's ingress proxy (docs/ingress.md): one TCP listener per ingress listen port of the
 * cluster, each connection forwarded to a serving task, this host's first, then the others, in
 * turn. Targets come from the discovery set only (no call to the control per connection). A
 * target that leaves the set gets no new connections; the connections it has are left to end on
 * their own (draining). A port that cannot be bound is logged and reported, never fatal.
 */
export class IngressProxy {
  private listening = new Map<number, Listening>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private opts: IngressProxyOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "ingress");
  }

  /** The listen ports bound now (tests, introspection). */
  get ports(): number[] {
    return [...this.listening].filter(([, l]) => !l.failed).map(([p]) => p);
  }

  /** Problems binding listen ports (port → message). */
  get problems(): Map<number, string> {
    return new Map([...this.listening].filter(([, l]) => l.failed).map(([p, l]) => [p, l.failed!]));
  }

  /** Takes the listeners wanted now: opens new ports, closes dropped ones, swaps targets in place. */
  async update(wanted: IngressListener[]): Promise<void> {
    if (this.stopped) return;
    const byPort = new Map(wanted.map((w) => [w.listenPort, w]));
    for (const [port, l] of this.listening) {
      const w = byPort.get(port);
      if (w && !l.failed) continue;
      this.listening.delete(port);
      // close() stops accepting; connections already forwarded run on until they end.
      l.server.close();
      if (l.failed) this.opts.onProblem?.(port, null);
      if (!w) this.log.info(`ingress port ${port} of service ${l.service} closed`);
    }
    await Promise.all(
      wanted.map(async (w) => {
        const l = this.listening.get(w.listenPort);
        if (l) {
          l.service = w.service;
          l.targets = w.targets;
          return;
        }
        await this.open(w);
      }),
    );
  }

  private async open(w: IngressListener): Promise<void> {
    const l: Listening = { service: w.service, targets: w.targets, next: 0, server: createServer({ pauseOnConnect: true }, (s) => this.forward(l, s)) };
    this.listening.set(w.listenPort, l);
    await new Promise<void>((resolve) => {
      const onError = (e: Error) => {
        l.failed = e.message;
        this.log.warn(`ingress port ${w.listenPort} of service ${w.service} not bound on ${this.opts.address}: ${e.message}`);
        this.opts.onProblem?.(w.listenPort, e.message);
        resolve();
      };
      l.server.once("error", onError);
      l.server.listen({ host: this.opts.address, port: w.listenPort, exclusive: true }, () => {
        l.server.off("error", onError);
        l.server.on("error", (e) => this.log.warn(`ingress port ${w.listenPort}: ${e.message}`));
        this.log.info(`ingress port ${this.opts.address}:${w.listenPort} → service ${w.service} (${w.targets.length} targets)`);
        resolve();
      });
    });
  }

  /** This connection's targets in the order to try: local ones first, each group in turn. */
  private order(l: Listening): IngressTarget[] {
    const n = l.next++;
    const serves = this.opts.localServes ?? (() => true);
    const rotate = (list: IngressTarget[]) => (list.length ? list.map((_, i) => list[(n + i) % list.length]!) : list);
    return [...rotate(l.targets.filter((t) => t.local && serves(t.taskId))), ...rotate(l.targets.filter((t) => !t.local))];
  }

  private forward(l: Listening, client: Socket): void {
    const candidates = this.order(l).slice(0, MAX_ATTEMPTS);
    client.on("error", () => {});
    const attempt = (i: number) => {
      const t = candidates[i];
      if (!t) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: t.host, port: t.port });
      upstream.setTimeout(CONNECT_TIMEOUT_MS);
      const onFail = () => {
        upstream.destroy();
        attempt(i + 1);
      };
      upstream.once("error", onFail);
      upstream.once("timeout", onFail);
      upstream.once("connect", () => {
        upstream.off("error", onFail);
        upstream.off("timeout", onFail);
        upstream.setTimeout(0);
        relay(client, upstream);
        relay(upstream, client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
        // A side gone cleanly has passed its end on already (relay); one gone by error takes the other along.
        client.on("close", (hadError) => (hadError ? upstream.destroy() : upstream.end()));
        upstream.on("close", (hadError) => (hadError ? client.destroy() : client.end()));
        client.resume();
      });
    };
    attempt(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const servers = [...this.listening.values()].map((l) => l.server);
    this.listening.clear();
    // Not waiting for open connections: the proxy stops with the agent, the tasks run on.
    for (const s of servers) if (s.listening) s.close();
  }
}

/**
 * Copies `from` to `to` with backpressure, and passes `from`'s end on (half-close). Plain data
 * handlers: stream.pipeline's machinery cost a third of the throughput (scripts/bench/ingress.ts).
 */
function relay(from: Socket, to: Socket): void {
  from.on("data", (chunk) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.on("end", () => to.end());
}
