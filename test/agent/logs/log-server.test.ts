import { describe, expect, test } from "bun:test";
import { explainReadError, LogServer } from "../../../agent/logs/log-server.ts";
import type { ContainerRuntime, LogChunk } from "../../../agent/runtime/types.ts";
import type { ResponseChunk } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { STATE } from "./state-fixture.ts";


/** A runtime whose log has `lines` lines of 1 KiB, read lazily; counts how far it was read. */
function runtime(lines: number) {
  const seen = { read: 0 };
  const rt = {
    async *logs(_id: string, _o: unknown, signal: AbortSignal): AsyncIterable<LogChunk> {
      for (let i = 0; i < lines && !signal.aborted; i++) {
        seen.read++;
        yield { stream: "stdout", data: new TextEncoder().encode(`${String(i).padStart(1023, "-")}\n`) };
      }
    },
  } as unknown as ContainerRuntime;
  return { rt, seen };
}

const REQ = { kind: "logs" as const, requestId: "r1", taskId: "t1", container: "app", follow: false };

describe("LogServer", () => {
  test("streams numbered pieces and an end; unknown containers get an error first", async () => {
    const { rt } = runtime(40);
    const out: ResponseChunk[] = [];
    const server = new LogServer({ runtime: rt, state: () => STATE, send: (c) => (out.push(c), true), maxChunkBytes: 16 * 1024 });
    await server.serve(REQ);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    expect(out[0]).toEqual({ requestId: "r1", seq: 0 });
    expect(out.at(-1)).toMatchObject({ end: true });
    expect(out.map((c) => c.data ?? "").join("")).toHaveLength(40 * 1024);

    const refused: ResponseChunk[] = [];
    const s2 = new LogServer({ runtime: rt, state: () => STATE, send: (c) => (refused.push(c), true) });
    await s2.serve({ ...REQ, requestId: "r2", container: "nope" });
    expect(refused).toEqual([{ requestId: "r2", seq: 0, end: true, error: 'task t1 has no container named "nope"' }]);
  });

  test("unacknowledged pieces pace the reading instead of piling up", async () => {
    const { rt, seen } = runtime(1000);
    const pending: (() => void)[] = [];
    const server = new LogServer({
      runtime: rt,
      state: () => STATE,
      maxChunkBytes: 1024,
      window: 2,
      send: () => new Promise<boolean>((resolve) => pending.push(() => resolve(true))),
    });
    const serving = server.serve(REQ);
    await waitFor("a full window", () => pending.length === 2);
    await Bun.sleep(0);
    // A window's worth of pieces was read and the reader waits: the log is not drained into memory.
    expect(pending).toHaveLength(2);
    expect(seen.read).toBeLessThan(10);
    expect(server.activeStreams).toBe(1);
    server.cancel("r1");
    let done = false;
    void serving.then(() => (done = true));
    await waitFor("the stream to end", () => {
      for (const ack of pending.splice(0)) ack();
      return done;
    });
    expect(server.activeStreams).toBe(0);
    expect(seen.read).toBeLessThan(20);
  });

  test("a follow the control stops vouching for is ended; named ones go on", async () => {
    let now = 0;
    const { rt, seen } = runtime(1_000_000);
    const pending: (() => void)[] = [];
    const server = new LogServer({
      runtime: rt,
      state: () => STATE,
      maxChunkBytes: 1024,
      window: 1,
      followLeaseMs: 90_000,
      now: () => now,
      send: () => new Promise<boolean>((resolve) => pending.push(() => resolve(true))),
    });
    const a = server.serve({ ...REQ, requestId: "a", follow: true });
    const b = server.serve({ ...REQ, requestId: "b", follow: true });
    await waitFor("both streams to wait on the link", () => pending.length === 2);
    now = 60_000;
    server.keepalive(["a"]);
    now = 120_000;
    server.expireLeases();
    let bDone = false;
    void b.then(() => (bDone = true));
    await waitFor("the unvouched stream to end", () => {
      for (const ack of pending.splice(0)) ack();
      return bDone;
    });
    expect(server.activeStreams).toBe(1);
    server.cancel("a");
    let aDone = false;
    void a.then(() => (aDone = true));
    await waitFor("the other to end on cancel", () => {
      for (const ack of pending.splice(0)) ack();
      return aDone;
    });
    expect(seen.read).toBeLessThan(100);
  });
});

test("a log Docker cannot read (dual logging cache off) is explained, other errors pass as they are", () => {
  expect(explainReadError('configured logging driver does not support reading')).toContain("cache-disabled");
  expect(explainReadError("No such container: x")).toBe("No such container: x");
});
