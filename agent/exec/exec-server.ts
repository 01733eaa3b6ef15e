import type { ExecInputRequest, ExecRequest, ResponseChunk } from "../../shared/messages.ts";
import type { ContainerRuntime, ExecProcess } from "../runtime/types.ts";
import type { ReadonlyAgentState } from "../store/state-file.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface ExecServerOptions {
  runtime: ContainerRuntime;
  /** The engine's state: the only place a task's container is found (never Docker's list). */
  state: () => ReadonlyAgentState;
  /** Sends one response piece; false (or a promise of false) when the link cannot carry it. */
  send: (chunk: ResponseChunk) => boolean | Promise<boolean>;
  /** Output gathered into pieces of at most this many bytes (MQTT messages stay small). */
  maxChunkBytes?: number;
  /** How long output may wait to be gathered into a bigger piece. */
  flushMs?: number;
  /** Unacknowledged pieces allowed in flight; more waits, which pauses reading the command's output. */
  window?: number;
  log?: Logger;
}

interface Session {
  process?: ExecProcess;
  /** Input pieces that arrived ahead of their turn. */
  early: Map<number, ExecInputRequest>;
  nextInput: number;
  /** Input is applied one piece after another: a resize reaches Docker before the next keystrokes. */
  applying: Promise<void>;
  ended: boolean;
  /** Output pieces that may still be sent (credit flow control); undefined: no limit. */
  credit?: number;
  wakeCredit?: () => void;
  /** Ends the session, killing its command; resolves once the kill is done. */
  end(reason: string): Promise<void>;
}

/**
 * Runs exec sessions for the control service (ECS Exec over the agent's own outbound link). A
 * session runs only in a container of a task this agent runs, found in its own task state by task
 * id and container name, so the control cannot point it at any other container on the host. The
 * command is killed when the control cancels (its client went away), when the session outlives its
 * timeout, or when the link goes down (nobody could read it any more).
 */
export class ExecServer {
  private sessions = new Map<string, Session>();

  private readonly log: Logger;

  constructor(private opts: ExecServerOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "exec");
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  cancel(requestId: string): void {
    void this.sessions.get(requestId)?.end("cancelled by the control service");
  }

  /** The control's client took `pieces` more output pieces: that many more may be sent. */
  credit(requestId: string, pieces: number): void {
    const s = this.sessions.get(requestId);
    if (!s || s.credit === undefined) return;
    s.credit += pieces;
    s.wakeCredit?.();
  }

  /** Resolves once one more output piece may be sent (or the session ended). */
  private async takeCredit(s: Session): Promise<void> {
    if (s.credit === undefined) return;
    while (s.credit <= 0 && !s.ended) {
      await new Promise<void>((resolve) => (s.wakeCredit = resolve));
      s.wakeCredit = undefined;
    }
    s.credit--;
  }

  /** Ends every session (link down, agent stopping); resolves once their commands are killed. */
  async cancelAll(reason = "the link to the control service went down"): Promise<void> {
    const kills = Promise.all([...this.sessions.values()].map((s) => s.end(reason)));
    // Bounded: a stuck Docker must not keep a stopping agent from exiting.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([kills, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }

  /** Applies input pieces in their numbered order. */
  input(req: ExecInputRequest): void {
    const s = this.sessions.get(req.requestId);
    if (!s || req.seq < s.nextInput) return;
    s.early.set(req.seq, req);
    if (!s.process) return; // applied once the command has started
    this.drainInput(s);
  }

  private drainInput(s: Session): void {
    for (let next = s.early.get(s.nextInput); next && s.process; next = s.early.get(s.nextInput)) {
      s.early.delete(s.nextInput);
      s.nextInput++;
      const proc = s.process;
      const piece = next;
      s.applying = s.applying.then(async () => {
        if (piece.resize) await proc.resize(piece.resize).catch(() => undefined);
        if (piece.bytes) proc.write(Buffer.from(piece.bytes, "base64"));
        if (piece.eof) proc.closeStdin();
      });
    }
  }

  async serve(req: ExecRequest): Promise<void> {
    if (this.sessions.has(req.requestId)) return; // a redelivered request (QoS 1)
    let seq = 0;
    const inFlight: Promise<boolean>[] = [];
    let linkLost = false;
    const send = async (piece: Omit<ResponseChunk, "requestId" | "seq">): Promise<void> => {
      const sent = this.opts.send({ requestId: req.requestId, seq: seq++, ...piece });
      if (sent === false) linkLost = true;
      if (typeof sent === "boolean") return;
      inFlight.push(sent.then((ok) => ((linkLost ||= !ok), ok)));
      while (inFlight.length >= (this.opts.window ?? 8)) await inFlight.shift();
    };
    let endReason: string | undefined;
    let killing: Promise<void> = Promise.resolve();
    const session: Session = {
      early: new Map(),
      nextInput: 0,
      applying: Promise.resolve(),
      ended: false,
      credit: req.credit,
      end: (reason) => {
        if (session.ended) return killing;
        session.ended = true;
        endReason = reason;
        session.wakeCredit?.();
        killing = session.process?.kill().catch((e: Error) => this.log.warn({ requestId: req.requestId, taskId: req.taskId }, `exec ${req.requestId}: cannot kill the command: ${e.message}`)) ?? killing;
        return killing;
      },
    };
    this.sessions.set(req.requestId, session);
    const timer = setTimeout(() => void session.end(`the session lasted longer than its timeout (${req.timeoutMs} ms)`), req.timeoutMs);
    try {
      const target = this.resolve(req);
      if (typeof target !== "string") return await send({ end: true, error: target.error });
      if (!this.opts.runtime.exec) return await send({ end: true, error: "this container runtime cannot exec" });
      let proc: ExecProcess;
      try {
        proc = await this.opts.runtime.exec(target, { command: req.command, tty: req.tty, stdin: req.interactive, size: req.size });
      } catch (e) {
        return await send({ end: true, error: `cannot start the command: ${(e as Error).message}` });
      }
      session.process = proc;
      if (session.ended) await proc.kill().catch(() => undefined);
      // The program only: arguments may carry secrets (a password on a command line).
      this.log.info({ requestId: req.requestId, taskId: req.taskId, container: req.container }, `exec ${req.requestId} in task ${req.taskId} container ${req.container}: ${req.command[0]} (${req.command.length - 1} arguments)`);
      await send({}); // accepted
      this.drainInput(session);
      await this.pump(proc, session, send, () => session.ended || linkLost);
      if (linkLost) return void (await session.end("the link to the control service went down"));
      if (session.ended) return await send({ end: true, error: endReason });
      const exitCode = await proc.exitCode();
      await send({ end: true, exitCode });
    } catch (e) {
      void session.end((e as Error).message);
      await send({ end: true, error: `exec failed: ${(e as Error).message}` }).catch(() => undefined);
    } finally {
      clearTimeout(timer);
      if (linkLost) void session.end("the link to the control service went down");
      this.sessions.delete(req.requestId);
    }
  }

  private resolve(req: ExecRequest): string | { error: string } {
    const task = this.opts.state().tasks[req.taskId];
    if (!task) return { error: `task ${req.taskId} is not known on this instance` };
    const c = task.containers.find((x) => x.name === req.container);
    if (!c) return { error: `task ${req.taskId} has no container named "${req.container}"` };
    if (!c.runtimeId || c.removed || c.knownStatus !== "RUNNING") return { error: `container "${req.container}" is not running` };
    return c.runtimeId;
  }

  /**
   * Output gathered per stream into pieces of at most maxChunkBytes, sent at least every flushMs
   * (a pty's echo must come back at once, a flood in few messages). A piece waiting for credit or
   * for the link pauses reading the command's output, and so the command once its pipe is full.
   */
  private async pump(proc: ExecProcess, session: Session, send: (p: Omit<ResponseChunk, "requestId" | "seq">) => Promise<void>, stopped: () => boolean): Promise<void> {
    const max = this.opts.maxChunkBytes ?? 32 * 1024;
    const flushMs = this.opts.flushMs ?? 5;
    let buffered: Buffer[] = [];
    let size = 0;
    let stderr = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sending: Promise<void> = Promise.resolve();
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (!size) return;
      const bytes = Buffer.concat(buffered).toString("base64");
      const isErr = stderr;
      buffered = [];
      size = 0;
      sending = sending.then(async () => {
        await this.takeCredit(session);
        if (!stopped()) await send(isErr ? { bytes, stderr: true } : { bytes });
      });
    };
    for await (const chunk of proc.output) {
      if (stopped()) break;
      const isErr = chunk.stream === "stderr";
      if (isErr !== stderr) flush();
      stderr = isErr;
      buffered.push(Buffer.from(chunk.data));
      size += chunk.data.byteLength;
      if (size >= max) flush();
      await sending;
      timer ??= setTimeout(flush, flushMs);
    }
    flush();
    await sending;
  }
}
