import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import type { IngressListener, IngressTarget } from "../../shared/ingress.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";
import { TargetHealth } from "./target-health.ts";

export interface IngressProxyOptions {
  /** The host address the listeners bind ("0.0.0.0": every IPv4 address of the host). */
  address: string;
  log?: Logger;
  /**
   * Whether a task of this host still serves, asked per connection (the agent's own view: a local
   * task it sees stopped gets no connection even before the control's next set).
   */
  localServes?: (taskId: string) => boolean;
  /**
   * This host's site (its ecs.availability-zone attribute): targets on other hosts of the same
   * site are tried before the rest. Undefined: no site, every other host is "other".
   */
  site?: string;
  /** A listen port could not be bound (or bound again): said once per change, for the agent's report. */
  onProblem?: (listenPort: number, message: string | null) => void;
}

interface Listening {
  service: string;
  server?: TCPSocketListener<Side>;
  targets: IngressTarget[];
  /** Round-robin position, shared by local and remote targets. */
  next: number;
  /** The bind failed; tried again at the next update. */
  failed?: string;
  /** The ingress's HTTP health checks of its targets, when it has any. */
  health?: TargetHealth;
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
      // stop(false) stops accepting; connections already forwarded run on until they end (draining).
      l.server?.stop(false);
      l.health?.stop();
      if (l.failed) this.opts.onProblem?.(port, null);
      if (!w) this.log.info(`ingress port ${port} of service ${l.service} closed`);
    }
    await Promise.all(
      wanted.map(async (w) => {
        const l = this.listening.get(w.listenPort);
        if (l) {
          l.service = w.service;
          l.targets = w.targets;
          follow(l, w);
          return;
        }
        await this.open(w);
      }),
    );
  }

  private async open(w: IngressListener): Promise<void> {
    const l: Listening = { service: w.service, targets: w.targets, next: 0 };
    this.listening.set(w.listenPort, l);
    follow(l, w);
    try {
      l.server = Bun.listen<Side>({
        hostname: this.opts.address,
        port: w.listenPort,
        exclusive: true,
        data: undefined as unknown as Side,
        socket: {
          open: (client) => {
            const pair: Pair = { client, toUpstream: [], toClient: [], endUpstream: false, endClient: false, clientGone: false };
            client.data = { pair, role: "client" };
            this.forward(l, pair);
          },
          data: (sock, chunk) => send(sock.data.pair, sock.data.role === "client" ? "up" : "down", chunk),
          drain: (sock) => flush(sock.data.pair, sock.data.role === "client" ? "down" : "up"),
          close: (sock) => closed(sock.data.pair, "client"),
          error: () => {},
        },
      });
      this.log.info(`ingress port ${this.opts.address}:${w.listenPort} → service ${w.service} (${w.targets.length} targets)`);
    } catch (e) {
      l.failed = (e as Error).message;
      const code = (e as { code?: string }).code;
      if (code && !l.failed.includes(code)) l.failed = `${code}: ${l.failed}`;
      this.log.warn(`ingress port ${w.listenPort} of service ${w.service} not bound on ${this.opts.address}: ${l.failed}`);
      this.opts.onProblem?.(w.listenPort, l.failed);
    }
  }

  /**
   * This connection's targets in the order to try: this host's first, then other hosts of its
   * site, then the rest; each group in turn (round-robin).
   */
  private order(l: Listening): IngressTarget[] {
    const n = l.next++;
    const serves = this.opts.localServes ?? (() => true);
    const site = this.opts.site;
    const local: IngressTarget[] = [];
    const sameSite: IngressTarget[] = [];
    const others: IngressTarget[] = [];
    // Unhealthy targets are skipped, unless every one is (ELB fails open the same way).
    const health = l.health;
    const healthy = health ? l.targets.filter((t) => health.healthy(t)) : l.targets;
    for (const t of healthy.length ? healthy : l.targets) {
      if (t.local) {
        if (serves(t.taskId)) local.push(t);
      } else if (site !== undefined && t.site === site) sameSite.push(t);
      else others.push(t);
    }
    const rotate = (list: IngressTarget[]) => (list.length > 1 ? list.map((_, i) => list[(n + i) % list.length]!) : list);
    return [...rotate(local), ...rotate(sameSite), ...rotate(others)];
  }

  /** Connects the client's pair to the first target that accepts; bytes wait in the pair until then. */
  private forward(l: Listening, pair: Pair): void {
    const candidates = this.order(l).slice(0, MAX_ATTEMPTS);
    const attempt = (i: number) => {
      const t = candidates[i];
      if (pair.clientGone) return;
      if (!t) {
        pair.client.end();
        return;
      }
      let settled = false;
      // Bun.connect has no connect timeout of its own: a target that does not answer is given up.
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        attempt(i + 1);
      }, CONNECT_TIMEOUT_MS);
      Bun.connect<Side>({ hostname: t.host, port: t.port, data: { pair, role: "upstream" }, socket: UPSTREAM_HANDLERS }).then(
        (up) => {
          clearTimeout(timer);
          if (settled || pair.clientGone) {
            up.end();
            return;
          }
          settled = true;
          pair.upstream = up;
          flush(pair, "up");
        },
        () => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          attempt(i + 1);
        },
      );
    };
    attempt(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const servers = [...this.listening.values()].map((l) => (l.health?.stop(), l.server));
    this.listening.clear();
    // Not waiting for open connections: the proxy stops with the agent, the tasks run on.
    for (const s of servers) s?.stop(false);
  }
}

/** Starts, follows or stops a listener's health checks as its ingress says. */
function follow(l: Listening, w: IngressListener): void {
  if (!w.healthCheck) {
    l.health?.stop();
    l.health = undefined;
  } else if (l.health) l.health.update(w.targets, w.healthCheck);
  else (l.health = new TargetHealth(w.healthCheck)).update(w.targets, w.healthCheck);
}

/** One forwarded connection: the client's socket, the target's once connected, and what waits for each. */
interface Pair {
  client: Socket<Side>;
  upstream?: Socket<Side>;
  /** Bytes not yet taken by the target's socket (before it connected, or under backpressure). */
  toUpstream: Uint8Array[];
  toClient: Uint8Array[];
  /** The other side has ended: end this one once its queue is written. */
  endUpstream: boolean;
  endClient: boolean;
  clientGone: boolean;
}
interface Side {
  pair: Pair;
  role: "client" | "upstream";
}

/**
 * Bun's own sockets: with node:net the relay reached 0.55-0.61x the direct rate, with these
 * 0.75x (scripts/bench/ingress.ts). Their write() takes what the kernel takes and returns the
 * count; the rest waits in the pair and the sending side is paused until drain.
 */
function send(pair: Pair, dir: "up" | "down", chunk: Uint8Array): void {
  const to = dir === "up" ? pair.upstream : pair.client;
  const queue = dir === "up" ? pair.toUpstream : pair.toClient;
  if (!to || queue.length) {
    queue.push(new Uint8Array(chunk));
    if (to) (dir === "up" ? pair.client : pair.upstream)?.pause();
    return;
  }
  const n = to.write(chunk);
  if (n < chunk.length) {
    queue.push(new Uint8Array(chunk.subarray(Math.max(n, 0))));
    (dir === "up" ? pair.client : pair.upstream)?.pause();
  }
}

/** Writes what waits for one side; once all is written, the other side reads again (and an end is passed on). */
function flush(pair: Pair, dir: "up" | "down"): void {
  const to = dir === "up" ? pair.upstream : pair.client;
  const queue = dir === "up" ? pair.toUpstream : pair.toClient;
  if (!to) return;
  while (queue.length) {
    const head = queue[0]!;
    const n = to.write(head);
    if (n < head.length) {
      queue[0] = head.subarray(Math.max(n, 0));
      return;
    }
    queue.shift();
  }
  (dir === "up" ? pair.client : pair.upstream)?.resume();
  if (dir === "up" ? pair.endUpstream : pair.endClient) to.end();
}

/** One side closed: the other is ended once what waits for it is written. */
function closed(pair: Pair, who: "client" | "upstream"): void {
  if (who === "client") {
    pair.clientGone = true;
    pair.endUpstream = true;
    if (pair.upstream && !pair.toUpstream.length) pair.upstream.end();
  } else {
    pair.endClient = true;
    if (!pair.toClient.length) pair.client.end();
  }
}

const UPSTREAM_HANDLERS: SocketHandler<Side> = {
  data: (sock, chunk) => send(sock.data.pair, "down", chunk),
  drain: (sock) => flush(sock.data.pair, "up"),
  close: (sock) => closed(sock.data.pair, "upstream"),
  error: () => {},
};
