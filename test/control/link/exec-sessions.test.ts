import { describe, expect, test } from "bun:test";
import { ExecSessionError, ExecSessions } from "../../../control/link/exec-sessions.ts";
import type { ExecParams } from "../../../control/ops/task-exec.ts";
import type { AgentRequest, ResponseChunk } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

const PARAMS: ExecParams = { taskId: "t1", container: "app", command: ["sh"], interactive: true, tty: true, timeoutSeconds: 60 };

/** Sessions whose requests are recorded, and a client that records what it is told. */
function setup(opts: { creditPieces?: number; maxClientBacklogBytes?: number } = {}) {
  const published: { instanceId: string; req: AgentRequest }[] = [];
  const sessions = new ExecSessions({ publish: async (instanceId, req) => void published.push({ instanceId, req }), ...opts });
  const seen = { output: [] as string[], exit: undefined as number | undefined, failed: undefined as string | undefined, buffered: 0, looks: 0 };
  const handlers = {
    output: (b: Uint8Array, stderr: boolean) => seen.output.push(`${stderr ? "err" : "out"}:${Buffer.from(b).toString()}`),
    exit: (c: number) => (seen.exit = c),
    failed: (m: string) => (seen.failed = m),
    buffered: () => (seen.looks++, seen.buffered),
  };
  return { sessions, published, seen, handlers };
}

const piece = (requestId: string, seq: number, rest: Partial<ResponseChunk> = {}): ResponseChunk => ({ requestId, seq, ...rest });
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("ExecSessions", () => {
  test("a session's token opens it once; a wrong one never", async () => {
    const { sessions, handlers, published } = setup();
    const { sessionId, tokenValue } = sessions.create("i1", PARAMS);
    expect(sessions.valid(sessionId, "wrong")).toBe(false);
    await expect(sessions.attach(sessionId, "wrong", handlers)).rejects.toBeInstanceOf(ExecSessionError);
    expect(sessions.valid(sessionId, tokenValue)).toBe(true);
    const opening = sessions.attach(sessionId, tokenValue, handlers, { cols: 80, rows: 24 });
    expect(sessions.valid(sessionId, tokenValue)).toBe(false);
    expect(published[0]).toEqual({
      instanceId: "i1",
      req: { kind: "exec", requestId: sessionId, taskId: "t1", container: "app", command: ["sh"], interactive: true, tty: true, size: { cols: 80, rows: 24 }, timeoutMs: 60_000, credit: 32 },
    });
    sessions.onResponse("i1", piece(sessionId, 0, { end: true, error: 'container "app" is not running' }));
    const e = await opening.catch((x: ExecSessionError) => x);
    expect(e).toMatchObject({ status: 409 });
    expect(sessions.running).toBe(0);
  });

  test("output in its numbered order, only from the session's instance; input numbered; the exit code ends it", async () => {
    const { sessions, handlers, published, seen } = setup();
    const { sessionId, tokenValue } = sessions.create("i1", PARAMS);
    const opening = sessions.attach(sessionId, tokenValue, handlers);
    sessions.onResponse("i1", piece(sessionId, 0));
    const s = await opening;
    sessions.onResponse("i1", piece(sessionId, 2, { bytes: b64("second") }));
    sessions.onResponse("other-instance", piece(sessionId, 1, { bytes: b64("forged") }));
    sessions.onResponse("i1", piece(sessionId, 1, { bytes: b64("first"), stderr: true }));
    expect(seen.output).toEqual(["err:first", "out:second"]);
    s.write(Buffer.from("ls\n"));
    s.resize({ cols: 100, rows: 30 });
    s.closeStdin();
    expect(published.slice(1).map((p) => p.req)).toEqual([
      { kind: "exec-input", requestId: sessionId, seq: 0, bytes: b64("ls\n") },
      { kind: "exec-input", requestId: sessionId, seq: 1, resize: { cols: 100, rows: 30 } },
      { kind: "exec-input", requestId: sessionId, seq: 2, eof: true },
    ]);
    sessions.onResponse("i1", piece(sessionId, 3, { end: true, exitCode: 4 }));
    expect(seen.exit).toBe(4);
    expect(sessions.running).toBe(0);
  });

  test("credit is granted back only while the client keeps up", async () => {
    const { sessions, handlers, published, seen } = setup({ creditPieces: 8, maxClientBacklogBytes: 100 });
    const { sessionId, tokenValue } = sessions.create("i1", PARAMS);
    const opening = sessions.attach(sessionId, tokenValue, handlers);
    sessions.onResponse("i1", piece(sessionId, 0));
    await opening;
    const credits = () => published.filter((p) => p.req.kind === "credit").map((p) => (p.req as { pieces: number }).pieces);
    for (let i = 1; i <= 2; i++) sessions.onResponse("i1", piece(sessionId, i, { bytes: b64("x") }));
    expect(credits()).toEqual([2]); // batches of a quarter window
    seen.buffered = 1000; // the client stopped reading
    for (let i = 3; i <= 8; i++) sessions.onResponse("i1", piece(sessionId, i, { bytes: b64("x") }));
    // The control looks at the client's backlog again (a timer) and still grants nothing.
    const looked = seen.looks;
    await waitFor("two more looks at the backlog", () => seen.looks >= looked + 2, { intervalMs: 10 });
    expect(credits()).toEqual([2]);
    seen.buffered = 0; // caught up
    await waitFor("the owed credit", () => credits().length === 2);
    expect(credits()).toEqual([2, 6]);
  });

  test("an agent that goes offline ends its sessions", async () => {
    const { sessions, handlers, seen } = setup();
    const { sessionId, tokenValue } = sessions.create("i1", PARAMS);
    const opening = sessions.attach(sessionId, tokenValue, handlers);
    sessions.onResponse("i1", piece(sessionId, 0));
    await opening;
    sessions.instanceGone("i1");
    expect(seen.failed).toBe("the agent disconnected");
    expect(sessions.running).toBe(0);
  });
});
