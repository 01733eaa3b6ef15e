import { describe, expect, test } from "bun:test";
import { LogServer } from "../../../agent/logs/log-server.ts";
import type { ContainerRuntime, LogChunk } from "../../../agent/runtime/types.ts";
import type { ResponseChunk } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { STATE } from "./state-fixture.ts";

/** Credit flow control on the agent's side: data pieces only as far as the control has granted. */

/** An endless log of 1 KiB lines, read lazily; counts how far it was read. */
function endless() {
  const seen = { read: 0 };
  const rt = {
    async *logs(_id: string, _o: unknown, signal: AbortSignal): AsyncIterable<LogChunk> {
      while (!signal.aborted) {
        seen.read++;
        yield { stream: "stdout", data: new TextEncoder().encode(`${"x".repeat(1023)}\n`) };
        await Bun.sleep(0);
      }
    },
  } as unknown as ContainerRuntime;
  return { rt, seen };
}

const REQ = { kind: "logs" as const, requestId: "r1", taskId: "t1", container: "app", follow: true };

describe("LogServer credit", () => {
  test("sends as many data pieces as granted, pauses the reading, and goes on with each grant", async () => {
    const { rt, seen } = endless();
    const out: ResponseChunk[] = [];
    const server = new LogServer({ runtime: rt, state: () => STATE, send: (c) => (out.push(c), true), maxChunkBytes: 4096 });
    const serving = server.serve({ ...REQ, credit: 3 });
    const data = () => out.filter((c) => c.data).length;
    await waitFor("the first credit to be used", () => data() === 3);
    const readAtPause = seen.read;
    // Parked: the runtime's stream is not read any further while there is no credit. Showing that
    // something does not happen needs time to pass: 50 ms is ~50 reads of this source if unparked.
    await Bun.sleep(50);
    expect(data()).toBe(3);
    expect(seen.read - readAtPause).toBeLessThanOrEqual(1);
    expect(readAtPause).toBeLessThan(20);

    server.credit("r1", 2);
    await waitFor("two more pieces", () => data() === 5);
    await Bun.sleep(50); // and no more than granted (an absence again)
    expect(data()).toBe(5);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));

    // A cancel reaches a stream parked for credit.
    server.cancel("r1");
    await serving;
    expect(server.activeStreams).toBe(0);
    server.credit("r1", 5); // after the end: ignored
  });

  test("without credit in the request (an older control) nothing waits for grants", async () => {
    const { rt } = endless();
    const out: ResponseChunk[] = [];
    const server = new LogServer({ runtime: rt, state: () => STATE, send: (c) => (out.push(c), true), maxChunkBytes: 4096 });
    const serving = server.serve(REQ);
    // Far more pieces than any credit window, with no grant ever sent.
    await waitFor("many pieces", () => out.filter((c) => c.data).length >= 20);
    expect(out[0]).toEqual({ requestId: "r1", seq: 0 }); // accepted
    const data = out.filter((c) => c.data);
    expect(data.length).toBeGreaterThanOrEqual(20);
    // Whole lines of the log, at most maxChunkBytes each (a timed flush may send fewer).
    expect(data.every((c) => c.data!.length <= 4096 && /^(x{1023}\n)+$/.test(c.data!))).toBe(true);
    expect(out.some((c) => c.end || c.error)).toBe(false);
    expect(server.activeStreams).toBe(1);

    server.cancel("r1");
    await serving;
    expect(server.activeStreams).toBe(0);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    // The cancel came from the control, so no end piece follows it.
    expect(out.some((c) => c.end)).toBe(false);
  });
});
