import { randomBytes, timingSafeEqual } from "node:crypto";
import type { AgentRequest, ResponseChunk } from "../../shared/messages.ts";
import type { ExecParams } from "../ops/task-exec.ts";

/** Why an exec session could not be opened: `status` is what the HTTP route answers. */
export class ExecSessionError extends Error {
  constructor(
    readonly status: 401 | 404 | 409 | 502 | 504,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the client side of a session is told. */
export interface ExecSessionHandlers {
  output(bytes: Uint8Array, stderr: boolean): void;
  /** The command finished with this exit code (last call). */
  exit(exitCode: number): void;
  /** The session ended without an exit code (killed, timed out, agent gone) (last call). */
  failed(message: string): void;
  /** Bytes sent toward the client that it has not taken yet (a WebSocket's buffered amount). */
  buffered(): number;
}

/** The control's handle on a running session. */
export interface ExecSession {
  write(bytes: Uint8Array): void;
  resize(size: { cols: number; rows: number }): void;
  closeStdin(): void;
  /** The client went away: the agent kills the command. */
  cancel(): void;
}

interface Ticket {
  instanceId: string;
  params: ExecParams;
  token: Buffer;
  timer: ReturnType<typeof setTimeout>;
}

interface Open {
  instanceId: string;
  nextSeq: number;
  early: Map<number, ResponseChunk>;
  deliver(chunk: ResponseChunk): void;
  abandon(reason: string): void;
}

export interface ExecSessionsOptions {
  publish: (instanceId: string, request: AgentRequest) => Promise<void>;
  /** How long the agent has to start the command. */
  acceptTimeoutMs?: number;
  /** How long a created session waits for its client to attach before it is forgotten. */
  attachTimeoutMs?: number;
  /** Output pieces (≤ 32 KiB each) an agent may send ahead of what the client has taken. */
  creditPieces?: number;
  /** A client with more than this many bytes not yet taken gets no more credit until it catches up. */
  maxClientBacklogBytes?: number;
}

/**
 * The control's half of exec sessions over MQTT (ECS ExecuteCommand). A session is made in two
 * steps, as ECS's is: ExecuteCommand checks who may and where it goes and returns a session id and
 * a single-use token; the client then attaches to the stream with them, and only then does the
 * agent start the command (a session nobody attaches to runs nothing). Input goes to the agent as
 * numbered `exec-input` requests, output comes back as numbered pieces on `res`, both put back in
 * order whatever order MQTT delivers them in.
 *
 * Flow control is credit-based, as for log streams: the agent may send `creditPieces` output pieces
 * ahead, and each piece is granted again once the client's WebSocket has taken what it was sent
 * (its buffered amount is under `maxClientBacklogBytes`). A client that stops reading stops the
 * grants; the agent stops reading the command's output, and the command blocks on its full pipe.
 */
export class ExecSessions {
  private tickets = new Map<string, Ticket>();
  private open = new Map<string, Open>();

  constructor(private opts: ExecSessionsOptions) {}

  get running(): number {
    return this.open.size;
  }

  /** Books a session; the token is shown once, to the caller of ExecuteCommand. */
  create(instanceId: string, params: ExecParams): { sessionId: string; tokenValue: string } {
    const sessionId = `ecs-execute-command-${randomBytes(12).toString("hex")}`;
    const token = randomBytes(32);
    const timer = setTimeout(() => this.tickets.delete(sessionId), this.opts.attachTimeoutMs ?? 60_000);
    this.tickets.set(sessionId, { instanceId, params, token, timer });
    return { sessionId, tokenValue: token.toString("base64url") };
  }

  /** True when the token is the session's and nobody has attached yet. */
  valid(sessionId: string, tokenValue: string): boolean {
    const ticket = this.tickets.get(sessionId);
    const given = Buffer.from(tokenValue, "base64url");
    return !!ticket && given.length === ticket.token.length && timingSafeEqual(given, ticket.token);
  }

  /** Attaches the client to a created session (once) and starts the command on the agent. */
  attach(sessionId: string, tokenValue: string, handlers: ExecSessionHandlers, size?: { cols: number; rows: number }): Promise<ExecSession> {
    const ticket = this.tickets.get(sessionId);
    if (!ticket || !this.valid(sessionId, tokenValue)) {
      return Promise.reject(new ExecSessionError(401, "UnauthorizedException", "no such exec session, or a wrong or used token"));
    }
    this.tickets.delete(sessionId);
    clearTimeout(ticket.timer);
    const { instanceId, params } = ticket;
    const publish = (r: AgentRequest) => this.opts.publish(instanceId, r).catch(() => undefined);
    let inputSeq = 0;
    const input = (piece: { bytes?: string; resize?: { cols: number; rows: number }; eof?: boolean }) => {
      if (this.open.has(sessionId)) void publish({ kind: "exec-input", requestId: sessionId, seq: inputSeq++, ...piece });
    };
    const session: ExecSession = {
      write: (bytes) => {
        // Pieces stay well under the agent's request size limit.
        for (let at = 0; at < bytes.byteLength; at += 48 * 1024) input({ bytes: Buffer.from(bytes.subarray(at, at + 48 * 1024)).toString("base64") });
      },
      resize: (s) => input({ resize: s }),
      closeStdin: () => input({ eof: true }),
      cancel: () => {
        if (!this.open.delete(sessionId)) return;
        void publish({ kind: "cancel", requestId: sessionId });
      },
    };
    const creditPieces = this.opts.creditPieces ?? 32;
    const grantBatch = Math.max(1, Math.floor(creditPieces / 4));
    let owed = 0;
    let backlogTimer: ReturnType<typeof setTimeout> | undefined;
    const grant = () => {
      if (!this.open.has(sessionId) || owed < grantBatch) return;
      if (handlers.buffered() > (this.opts.maxClientBacklogBytes ?? 1024 * 1024)) {
        // Nothing tells us when a WebSocket drains: look again shortly.
        backlogTimer ??= setTimeout(() => {
          backlogTimer = undefined;
          grant();
        }, 50);
        return;
      }
      const pieces = owed;
      owed = 0;
      void publish({ kind: "credit", requestId: sessionId, pieces });
    };
    return new Promise((resolve, reject) => {
      let accepted = false;
      const timer = setTimeout(() => {
        this.open.delete(sessionId);
        void publish({ kind: "cancel", requestId: sessionId });
        reject(new ExecSessionError(504, "AgentTimeoutException", `the agent on instance ${instanceId} did not start the command within ${this.acceptTimeoutMs} ms`));
      }, this.acceptTimeoutMs);
      const fail = (message: string) => {
        clearTimeout(timer);
        clearTimeout(backlogTimer);
        this.open.delete(sessionId);
        if (!accepted) {
          const status = /not known|no container|not running/.test(message) ? 409 : 502;
          return reject(new ExecSessionError(status, status === 409 ? "TargetNotConnectedException" : "AgentException", message));
        }
        handlers.failed(message);
      };
      this.open.set(sessionId, {
        instanceId,
        nextSeq: 0,
        early: new Map(),
        deliver: (chunk) => {
          if (chunk.error !== undefined) return fail(chunk.error);
          if (!accepted) {
            accepted = true;
            clearTimeout(timer);
            resolve(session);
          }
          if (chunk.bytes) {
            handlers.output(Buffer.from(chunk.bytes, "base64"), chunk.stderr ?? false);
            owed++;
            grant();
          }
          if (chunk.end) {
            clearTimeout(backlogTimer);
            this.open.delete(sessionId);
            if (chunk.exitCode !== undefined) handlers.exit(chunk.exitCode);
            else handlers.failed("the session ended without an exit code");
          }
        },
        abandon: fail,
      });
      const { timeoutSeconds, ...rest } = params;
      this.opts
        .publish(instanceId, { kind: "exec", requestId: sessionId, ...rest, ...(size ? { size } : {}), timeoutMs: timeoutSeconds * 1000, credit: creditPieces })
        .catch((e: Error) => this.open.get(sessionId)?.abandon(`cannot send the request: ${e.message}`));
    });
  }

  private get acceptTimeoutMs(): number {
    return this.opts.acceptTimeoutMs ?? 10_000;
  }

  /** A piece from an agent; ignored unless it is for a session open on that instance. */
  onResponse(instanceId: string, chunk: ResponseChunk): void {
    const o = this.open.get(chunk.requestId);
    if (!o || o.instanceId !== instanceId || chunk.seq < o.nextSeq) return;
    o.early.set(chunk.seq, chunk);
    for (let next = o.early.get(o.nextSeq); next; next = o.early.get(o.nextSeq)) {
      o.early.delete(o.nextSeq);
      o.nextSeq++;
      o.deliver(next);
      if (!this.open.has(chunk.requestId)) return;
    }
  }

  instanceGone(instanceId: string): void {
    for (const o of [...this.open.values()]) if (o.instanceId === instanceId) o.abandon("the agent disconnected");
  }

  closeAll(): void {
    for (const t of this.tickets.values()) clearTimeout(t.timer);
    this.tickets.clear();
    for (const o of [...this.open.values()]) o.abandon("the control service is shutting down");
  }
}
