import { randomBytes } from "node:crypto";
import type { AgentRequest, ResponseChunk } from "../../shared/messages.ts";
import type { LogStreamParams } from "../ops/task-logs.ts";

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
  /**
   * Bytes a slow HTTP client may leave unread before its stream is ended. Agents that honour
   * credit never get near it (the control holds at most `creditPieces` pieces); it guards against
   * agents that predate flow control.
   */
  maxBufferedBytes?: number;
  /** Data pieces (≤ 64 KiB each) an agent may send ahead of what the HTTP client has read. */
  creditPieces?: number;
}

/**
 * The control's half of log streaming over MQTT: each HTTP request becomes a request on the
 * instance's `req` topic, and the numbered pieces the agent sends back on `res` become the HTTP
 * response body, in order. Closing the HTTP response cancels the agent's side.
 *
 * Flow control is credit-based: the request grants the agent `creditPieces` data pieces, and every
 * piece the HTTP client actually reads is granted again (in batches). A client that stops reading
 * stops the grants, so the agent pauses its reading of the container's log; nothing is dropped
 * and no side buffers more than the window.
 */
export class LogRequests {
  private pending = new Map<string, Pending>();
  /** Log bytes received from agents, and read from the control by HTTP clients (all streams). */
  readonly stats = { bytesReceived: 0, bytesRead: 0 };
  private keepaliveTimer?: ReturnType<typeof setInterval>;

  constructor(private opts: LogRequestsOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves with the log stream once the agent has accepted; rejects with LogRequestError. */
  open(instanceId: string, params: LogStreamParams): Promise<ReadableStream<Uint8Array>> {
    const requestId = randomBytes(12).toString("hex");
    const encoder = new TextEncoder();
    const creditPieces = this.creditPieces;
    // Grants go back in batches, so a fast reader costs one message per quarter window, not per piece.
    const grantBatch = Math.max(1, Math.floor(creditPieces / 4));
    return new Promise((resolve, reject) => {
      let accepted = false;
      /** Pieces received and not yet read by the HTTP client; `data` ones are paid back in credit. */
      const queue: { bytes: Uint8Array; data: boolean }[] = [];
      let queuedBytes = 0;
      let ended = false;
      let wake: (() => void) | undefined;
      let owed = 0;
      const push = (text: string, data: boolean) => {
        const bytes = encoder.encode(text);
        queue.push({ bytes, data });
        queuedBytes += bytes.byteLength;
        wake?.();
      };
      const close = () => {
        ended = true;
        wake?.();
      };
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
      const grant = () => {
        if (++owed < grantBatch || !this.pending.has(requestId)) return;
        const pieces = owed;
        owed = 0;
        void this.opts.publish(instanceId, { kind: "credit", requestId, pieces }).catch(() => undefined);
      };
      // Pull-based with no queue of its own: a piece leaves `queue` only when the HTTP side reads.
      const stream = new ReadableStream<Uint8Array>(
        {
          pull: async (c) => {
            while (!queue.length && !ended) await new Promise<void>((r) => (wake = r));
            wake = undefined;
            const next = queue.shift();
            if (!next) return c.close();
            queuedBytes -= next.bytes.byteLength;
            if (next.data) this.stats.bytesRead += next.bytes.byteLength;
            c.enqueue(next.bytes);
            if (next.data) grant();
          },
          // The HTTP client went away: tell the agent to stop reading.
          cancel: () => {
            cancelAgent();
            close();
          },
        },
        { highWaterMark: 0 },
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
          if (chunk.data) {
            this.stats.bytesReceived += chunk.data.length;
            push(chunk.data, true);
          }
          // An agent that ignores credit (older than flow control) could make the control hold the
          // whole log for a client that reads slowly: end its stream instead (it can ask again).
          if (queuedBytes > (this.opts.maxBufferedBytes ?? 16 * 1024 * 1024)) {
            cancelAgent();
            push("\n[flotilla] log stream ended: the client read too slowly\n", false);
            return close();
          }
          if (chunk.error) push(`\n[flotilla] log stream ended: ${chunk.error}\n`, false);
          if (chunk.end) {
            finish();
            close();
          }
        },
        abandon: (reason) => {
          finish();
          if (!accepted) return reject(new LogRequestError(502, "AgentException", reason));
          push(`\n[flotilla] log stream ended: ${reason}\n`, false);
          close();
        },
      });
      this.updateKeepalive();
      this.opts.publish(instanceId, { kind: "logs", requestId, ...params, credit: creditPieces }).catch((e: Error) => {
        this.pending.get(requestId)?.abandon(`cannot send the request: ${e.message}`);
      });
    });
  }

  private get creditPieces(): number {
    return this.opts.creditPieces ?? 32;
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
