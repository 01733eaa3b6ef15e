import { randomBytes } from "node:crypto";
import type { AgentRequest, ResponseChunk } from "../../shared/messages.ts";

export interface LogStreamParams {
  taskId: string;
  container: string;
  tail?: number;
  since?: number;
  follow: boolean;
}

/** Why a log request could not be served: `status` is what the HTTP route answers. */
export class LogRequestError extends Error {
  constructor(
    readonly status: 404 | 502 | 504,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  instanceId: string;
  follow: boolean;
  nextSeq: number;
  /** Pieces that arrived ahead of their turn (QoS 1 gives no ordering promise across reconnects). */
  early: Map<number, ResponseChunk>;
  deliver(chunk: ResponseChunk): void;
  /** Ends the stream from the control's side (agent gone, shutdown). */
  abandon(reason: string): void;
}

export interface LogRequestsOptions {
  /** Publishes a request on the instance's request topic. */
  publish: (instanceId: string, request: AgentRequest) => Promise<void>;
  /** How long the agent has to accept a request (its first piece). */
  acceptTimeoutMs?: number;
  /** How often open follows are vouched for to their agents (the agent ends unnamed ones). */
  keepaliveMs?: number;
  /** Bytes a slow HTTP client may leave unread before its stream is ended. */
  maxBufferedBytes?: number;
}

/**
 * The control's half of log streaming over MQTT: each HTTP request becomes a request on the
 * instance's `req` topic, and the numbered pieces the agent sends back on `res` become the HTTP
 * response body, in order. Closing the HTTP response cancels the agent's side.
 */
export class LogRequests {
  private pending = new Map<string, Pending>();
  private keepaliveTimer?: ReturnType<typeof setInterval>;

  constructor(private opts: LogRequestsOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves with the log stream once the agent has accepted; rejects with LogRequestError. */
  open(instanceId: string, params: LogStreamParams): Promise<ReadableStream<Uint8Array>> {
    const requestId = randomBytes(12).toString("hex");
    const encoder = new TextEncoder();
    return new Promise((resolve, reject) => {
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
      let accepted = false;
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        this.updateKeepalive();
      };
      const timer = setTimeout(() => {
        finish();
        void this.opts.publish(instanceId, { kind: "cancel", requestId }).catch(() => undefined);
        reject(new LogRequestError(504, "AgentTimeoutException", `the agent on instance ${instanceId} did not answer within ${this.acceptTimeoutMs} ms`));
      }, this.acceptTimeoutMs);
      const cancelAgent = () => {
        if (!this.pending.has(requestId)) return;
        finish();
        void this.opts.publish(instanceId, { kind: "cancel", requestId }).catch(() => undefined);
      };
      const stream = new ReadableStream<Uint8Array>(
        {
          start: (c) => {
            controller = c;
          },
          // The HTTP client went away: tell the agent to stop reading.
          cancel: cancelAgent,
        },
        new ByteLengthQueuingStrategy({ highWaterMark: 1024 * 1024 }),
      );
      this.pending.set(requestId, {
        instanceId,
        follow: params.follow,
        nextSeq: 0,
        early: new Map(),
        deliver: (chunk) => {
          if (!accepted) {
            if (chunk.error) {
              finish();
              const status = /not known|no container|no logs/.test(chunk.error) ? 404 : 502;
              return reject(new LogRequestError(status, status === 404 ? "ResourceNotFoundException" : "AgentException", chunk.error));
            }
            accepted = true;
            clearTimeout(timer);
            resolve(stream);
          }
          if (chunk.data) controller!.enqueue(encoder.encode(chunk.data));
          // A client that reads far slower than the agent sends would make the control hold the
          // whole log: end its stream instead (it can ask again with tail/since).
          if ((controller!.desiredSize ?? 0) < -(this.opts.maxBufferedBytes ?? 16 * 1024 * 1024)) {
            cancelAgent();
            controller!.enqueue(encoder.encode("\n[flotilla] log stream ended: the client read too slowly\n"));
            return controller!.close();
          }
          if (chunk.error) controller!.enqueue(encoder.encode(`\n[flotilla] log stream ended: ${chunk.error}\n`));
          if (chunk.end) {
            finish();
            controller!.close();
          }
        },
        abandon: (reason) => {
          finish();
          if (!accepted) return reject(new LogRequestError(502, "AgentException", reason));
          controller!.enqueue(encoder.encode(`\n[flotilla] log stream ended: ${reason}\n`));
          controller!.close();
        },
      });
      this.updateKeepalive();
      this.opts.publish(instanceId, { kind: "logs", requestId, ...params }).catch((e: Error) => {
        this.pending.get(requestId)?.abandon(`cannot send the request: ${e.message}`);
      });
    });
  }

  private get acceptTimeoutMs(): number {
    return this.opts.acceptTimeoutMs ?? 10_000;
  }

  /** A piece from an agent; the topic's instance id must be the one the request went to. */
  onResponse(instanceId: string, chunk: ResponseChunk): void {
    const p = this.pending.get(chunk.requestId);
    if (!p || p.instanceId !== instanceId || chunk.seq < p.nextSeq) return;
    p.early.set(chunk.seq, chunk);
    for (let next = p.early.get(p.nextSeq); next; next = p.early.get(p.nextSeq)) {
      p.early.delete(p.nextSeq);
      p.nextSeq++;
      p.deliver(next);
      if (!this.pending.has(chunk.requestId)) return;
    }
  }

  /** Runs the keepalive timer only while follows are open. */
  private updateKeepalive(): void {
    const follows = [...this.pending.values()].some((p) => p.follow);
    if (follows && !this.keepaliveTimer) {
      this.keepaliveTimer = setInterval(() => this.sendKeepalives(), this.opts.keepaliveMs ?? 30_000);
    } else if (!follows && this.keepaliveTimer) {
      clearInterval(this.keepaliveTimer);
      this.keepaliveTimer = undefined;
    }
  }

  /** One message per instance naming its open follows. */
  sendKeepalives(): void {
    const byInstance = new Map<string, string[]>();
    for (const [id, p] of this.pending) if (p.follow) byInstance.set(p.instanceId, [...(byInstance.get(p.instanceId) ?? []), id]);
    for (const [instanceId, requestIds] of byInstance) {
      void this.opts.publish(instanceId, { kind: "keepalive", requestIds: requestIds.slice(0, 1000) }).catch(() => undefined);
    }
  }

  /** The instance disconnected: its streams cannot continue. */
  instanceGone(instanceId: string): void {
    for (const p of [...this.pending.values()]) if (p.instanceId === instanceId) p.abandon("the agent disconnected");
  }

  closeAll(): void {
    for (const p of [...this.pending.values()]) p.abandon("the control service is shutting down");
  }
}
