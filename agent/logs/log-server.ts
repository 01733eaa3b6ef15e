import type { LogsRequest, ResponseChunk } from "../../shared/messages.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import type { ReadonlyAgentState } from "../store/state-file.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface LogServerOptions {
  runtime: ContainerRuntime;
  /** The engine's state: where task and container names are mapped to runtime ids. */
  state: () => ReadonlyAgentState;
  /**
   * Sends one response piece; false when offline (the stream is then abandoned). A promise
   * resolves when the broker has the piece: at most `window` pieces are unacknowledged at once,
   * which paces reading to what the link carries instead of queueing a whole log in memory.
   */
  send: (chunk: ResponseChunk) => boolean | Promise<boolean>;
  window?: number;
  /** A follow the control has not named in a keepalive for this long is ended. */
  followLeaseMs?: number;
  now?: () => number;
  /** Bytes gathered before a piece is sent (MQTT messages stay small). */
  maxChunkBytes?: number;
  /** How long output may wait to be gathered into a bigger piece. */
  flushMs?: number;
  log?: Logger;
}

/** Data pieces a stream may still send (credit flow control); `wake` resumes a paused reader. */
interface Credit {
  left: number;
  wake?: () => void;
}

/**
 * Serves log requests from the control service: reads a task container's logs from the runtime
 * and sends them back as numbered pieces on the instance's response topic. Follows are cancelled
 * by the control (client gone), by the container stopping, or by the link going down.
 *
 * Flow control: a request that carries `credit` may only have that many data pieces sent until the
 * control grants more (it does as its HTTP client reads). Without credit the reader waits, and
 * with it the runtime's log stream, so a client that stops reading pauses the container's log
 * reading end to end instead of filling memory anywhere on the way.
 */
export class LogServer {
  private active = new Map<string, AbortController>();
  private credits = new Map<string, Credit>();
  /** When the control last vouched for each follow. */
  private leases = new Map<string, number>();

  private readonly log: Logger;

  constructor(private opts: LogServerOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "logs");
  }

  get activeStreams(): number {
    return this.active.size;
  }

  cancel(requestId: string): void {
    this.active.get(requestId)?.abort();
  }

  /** The control's client read `pieces` more: that many more data pieces may be sent. */
  credit(requestId: string, pieces: number): void {
    const c = this.credits.get(requestId);
    if (!c) return;
    c.left += pieces;
    c.wake?.();
  }

  /** Resolves once the stream may send one more data piece (at once without flow control). */
  private async takeCredit(requestId: string, signal: AbortSignal): Promise<void> {
    const c = this.credits.get(requestId);
    if (!c) return;
    while (c.left <= 0 && !signal.aborted) {
      await new Promise<void>((resolve) => (c.wake = resolve));
      c.wake = undefined;
    }
    c.left--;
  }

  /** The control still wants these streams. */
  keepalive(requestIds: string[]): void {
    const now = (this.opts.now ?? Date.now)();
    for (const id of requestIds) if (this.leases.has(id)) this.leases.set(id, now);
  }

  /** Ends follows whose lease ran out (called periodically by the agent). */
  expireLeases(): void {
    const cutoff = (this.opts.now ?? Date.now)() - (this.opts.followLeaseMs ?? 90_000);
    for (const [id, seen] of this.leases) {
      if (seen >= cutoff) continue;
      this.log.info({ requestId: id }, `log stream ${id} ended: the control service stopped asking for it`);
      this.cancel(id);
    }
  }

  /** The link went down: nobody is listening any more. */
  cancelAll(): void {
    for (const c of this.active.values()) c.abort();
  }

  async serve(req: LogsRequest): Promise<void> {
    if (this.active.has(req.requestId)) return; // a redelivered request (QoS 1)
    const abort = new AbortController();
    this.active.set(req.requestId, abort);
    if (req.follow) this.leases.set(req.requestId, (this.opts.now ?? Date.now)());
    if (req.credit !== undefined) {
      const credit: Credit = { left: req.credit };
      this.credits.set(req.requestId, credit);
      // A cancelled stream must not stay parked waiting for credit.
      abort.signal.addEventListener("abort", () => credit.wake?.(), { once: true });
    }
    let seq = 0;
    const inFlight: Promise<boolean>[] = [];
    const send = async (piece: Omit<ResponseChunk, "requestId" | "seq">): Promise<void> => {
      const sent = this.opts.send({ requestId: req.requestId, seq: seq++, ...piece });
      if (sent === false) return abort.abort();
      if (sent === true) return;
      inFlight.push(
        sent.then((ok) => {
          if (!ok) abort.abort();
          return ok;
        }),
      );
      while (inFlight.length >= (this.opts.window ?? 8)) await inFlight.shift();
    };
    try {
      const runtimeId = this.resolve(req);
      if (typeof runtimeId !== "string") return send({ end: true, error: runtimeId.error });
      if (!this.opts.runtime.logs) return send({ end: true, error: "this container runtime cannot read logs" });
      await send({}); // accepted
      await this.pump(runtimeId, req, abort.signal, async (data) => {
        await this.takeCredit(req.requestId, abort.signal);
        if (!abort.signal.aborted) await send({ data });
      });
      if (!abort.signal.aborted) await send({ end: true });
    } catch (e) {
      if (!abort.signal.aborted) await send({ end: true, error: `cannot read logs: ${explainReadError((e as Error).message)}` });
    } finally {
      this.active.delete(req.requestId);
      this.leases.delete(req.requestId);
      this.credits.delete(req.requestId);
    }
  }

  private resolve(req: LogsRequest): string | { error: string } {
    const task = this.opts.state().tasks[req.taskId];
    if (!task) return { error: `task ${req.taskId} is not known on this instance` };
    const c = task.containers.find((x) => x.name === req.container);
    if (!c) return { error: `task ${req.taskId} has no container named "${req.container}"` };
    if (!c.runtimeId || c.removed) return { error: `container "${req.container}" has no logs (not created yet or already cleaned up)` };
    return c.runtimeId;
  }

  /**
   * Gathers output into pieces of at most maxChunkBytes, sent at least every flushMs. Pieces go out
   * one after another (a timed flush and a full piece never race for a sequence number), and no
   * more output is read while one waits: that is what pauses the runtime's stream.
   */
  private async pump(id: string, req: LogsRequest, signal: AbortSignal, emit: (data: string) => Promise<void>): Promise<void> {
    const max = this.opts.maxChunkBytes ?? 64 * 1024;
    const flushMs = this.opts.flushMs ?? 50;
    const decoder = new TextDecoder();
    let buffered = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sending: Promise<void> = Promise.resolve();
    const queue = (piece: string) => (sending = sending.then(() => (signal.aborted ? undefined : emit(piece))));
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (buffered && !signal.aborted) void queue(buffered);
      buffered = "";
    };
    try {
      const chunks = this.opts.runtime.logs!(id, { tail: req.tail, since: req.since, follow: req.follow }, signal);
      for await (const chunk of chunks) {
        buffered += decoder.decode(chunk.data, { stream: true });
        while (buffered.length >= max && !signal.aborted) {
          const piece = buffered.slice(0, max);
          buffered = buffered.slice(max);
          await queue(piece);
        }
        // A timed flush still waiting for credit (or the link): read nothing more until it is out.
        await sending;
        timer ??= setTimeout(flush, flushMs);
        if (signal.aborted) break;
      }
      buffered += decoder.decode();
    } finally {
      flush();
      await sending;
    }
  }
}

/**
 * Docker reads a syslog/fluentd/gelf/splunk container's log from its dual-logging cache (on by
 * default since 20.10); a daemon with `cache-disabled` keeps none, and its error alone does not
 * say why.
 */
export function explainReadError(message: string): string {
  if (!/does not support reading/i.test(message)) return message;
  return `${message} (Docker keeps no local copy of this container's log: the daemon's log-opts has cache-disabled set, or Docker predates 20.10 dual logging)`;
}
