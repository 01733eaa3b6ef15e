import { describe, expect, test } from "bun:test";
import { ExecServer } from "../../../agent/exec/exec-server.ts";
import type { AgentState } from "../../../agent/store/state-file.ts";
import type { ContainerRuntime, ExecOptions, ExecProcess, LogChunk } from "../../../agent/runtime/types.ts";
import type { ExecRequest, ResponseChunk } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { STATE } from "../logs/state-fixture.ts";

/** A runtime whose exec records what it was asked and echoes stdin until closed or killed. */
function echoRuntime() {
  const calls: { id: string; opts: ExecOptions }[] = [];
  const applied: string[] = [];
  let killed = 0;
  const rt = {
    async exec(id: string, opts: ExecOptions): Promise<ExecProcess> {
      calls.push({ id, opts });
      const queue: LogChunk[] = [];
      let done = false;
      let wake: (() => void) | undefined;
      const push = (c?: LogChunk) => {
        if (c) queue.push(c);
        else done = true;
        wake?.();
      };
      return {
        output: (async function* () {
          for (;;) {
            while (!queue.length && !done) await new Promise<void>((r) => (wake = r));
            const next = queue.shift();
            if (!next) return;
            yield next;
          }
        })(),
        write: (b) => {
          applied.push(`in:${Buffer.from(b).toString()}`);
          push({ stream: "stdout", data: b });
        },
        closeStdin: () => {
          applied.push("eof");
          push();
        },
        resize: async (s) => {
          await Bun.sleep(5); // a Docker call: slower than a write
          applied.push(`resize:${s.cols}x${s.rows}`);
        },
        exitCode: async () => 0,
        kill: async () => {
          killed++;
          push();
        },
      };
    },
  } as unknown as ContainerRuntime;
  return { rt, calls, applied, killed: () => killed };
}

const REQ: ExecRequest = { kind: "exec", requestId: "e1", taskId: "t1", container: "app", command: ["sh"], interactive: true, tty: true, timeoutMs: 60_000 };

function server(rt: ContainerRuntime, state: AgentState = STATE) {
  const out: ResponseChunk[] = [];
  return { out, server: new ExecServer({ runtime: rt, state: () => state, send: (c) => (out.push(c), true), flushMs: 1 }) };
}

describe("ExecServer", () => {
  test("runs only in a running container of a task the agent runs, found in its own state", async () => {
    const { rt, calls } = echoRuntime();
    const { out, server: s } = server(rt);
    await s.serve({ ...REQ, requestId: "a", taskId: "not-mine" });
    await s.serve({ ...REQ, requestId: "b", container: "sidecar" });
    const stopped = structuredClone(STATE);
    stopped.tasks.t1!.containers[0]!.knownStatus = "STOPPED";
    const { out: out2, server: s2 } = server(rt, stopped);
    await s2.serve({ ...REQ, requestId: "c" });
    expect(calls).toEqual([]);
    expect(out.map((c) => c.error)).toEqual(["task not-mine is not known on this instance", 'task t1 has no container named "sidecar"']);
    expect(out2[0]!.error).toBe('container "app" is not running');
  });

  test("input is applied in its numbered order, a resize before the keystrokes after it; output and exit code come back", async () => {
    const { rt, calls, applied } = echoRuntime();
    const { out, server: s } = server(rt);
    const serving = s.serve(REQ);
    // Delivered out of order, and before the command even started.
    s.input({ kind: "exec-input", requestId: "e1", seq: 2, eof: true });
    s.input({ kind: "exec-input", requestId: "e1", seq: 1, bytes: Buffer.from("after").toString("base64") });
    s.input({ kind: "exec-input", requestId: "e1", seq: 0, resize: { cols: 100, rows: 30 } });
    await serving;
    expect(calls[0]!.id).toBe("c1");
    expect(applied).toEqual(["resize:100x30", "in:after", "eof"]);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    expect(out.map((c) => (c.bytes ? Buffer.from(c.bytes, "base64").toString() : "")).join("")).toBe("after");
    expect(out.at(-1)).toMatchObject({ end: true, exitCode: 0 });
  });

  test("cancel and the link going down kill the command", async () => {
    const { rt, killed } = echoRuntime();
    const { out, server: s } = server(rt);
    const first = s.serve({ ...REQ, requestId: "k1" });
    await waitFor("k1 accepted", () => out.some((c) => c.requestId === "k1"));
    s.cancel("k1");
    await first;
    expect(killed()).toBe(1);
    expect(out.at(-1)).toMatchObject({ requestId: "k1", end: true, error: "cancelled by the control service" });

    const second = s.serve({ ...REQ, requestId: "k2" });
    await waitFor("k2 accepted", () => out.some((c) => c.requestId === "k2"));
    s.cancelAll();
    await second;
    expect(killed()).toBe(2);
    expect(s.activeSessions).toBe(0);
  });

  test("with credit, output stops at the granted pieces and so does reading the command's output", async () => {
    let produced = 0;
    const rt = {
      async exec(): Promise<ExecProcess> {
        return {
          output: (async function* () {
            for (let i = 0; i < 50; i++) {
              produced++;
              yield { stream: "stdout" as const, data: new Uint8Array(40 * 1024) }; // over a piece each
            }
          })(),
          write: () => {},
          closeStdin: () => {},
          resize: async () => {},
          exitCode: async () => 0,
          kill: async () => {},
        };
      },
    } as unknown as ContainerRuntime;
    const { out, server: s } = server(rt);
    const serving = s.serve({ ...REQ, requestId: "c1", credit: 3 });
    const dataPieces = () => out.filter((c) => c.bytes).length;
    await waitFor("three pieces", () => dataPieces() === 3);
    // Held: not one more piece is sent, and the output is read no further than the piece waiting.
    await waitFor("the reader to reach the piece waiting for credit", () => produced === 4);
    await Promise.resolve();
    expect(dataPieces()).toBe(3);
    expect(produced).toBe(4);
    s.credit("c1", 100);
    await serving;
    expect(dataPieces()).toBe(50);
    expect(out.at(-1)).toMatchObject({ end: true, exitCode: 0 });
  });
});
