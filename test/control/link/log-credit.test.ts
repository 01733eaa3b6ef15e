import { describe, expect, test } from "bun:test";
import { LogRequests } from "../../../control/link/log-requests.ts";
import type { AgentRequest } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/** Credit flow control on the control's side: grants follow what the HTTP client reads. */
const PARAMS = { taskId: "t1", container: "app", follow: true };

async function opened(creditPieces: number) {
  const sent: AgentRequest[] = [];
  const lr = new LogRequests({ publish: async (_i, req) => void sent.push(req), creditPieces });
  const opening = lr.open("i1", PARAMS);
  await waitFor("the request to be published", () => sent.length > 0, { intervalMs: 1 });
  const id = (sent[0] as { requestId: string }).requestId;
  lr.onResponse("i1", { requestId: id, seq: 0 });
  return { lr, sent, id, body: await opening };
}

describe("LogRequests credit", () => {
  test("the request grants the window; pieces read are granted again in batches; unread ones are not", async () => {
    const { lr, sent, id, body } = await opened(8);
    expect(sent[0]).toMatchObject({ kind: "logs", credit: 8 });
    for (let seq = 1; seq <= 8; seq++) lr.onResponse("i1", { requestId: id, seq, data: `piece ${seq}\n` });
    // Nobody has read yet: no grant, and the control holds just the window.
    await Bun.sleep(0);
    expect(sent.filter((r) => r.kind === "credit")).toEqual([]);
    expect(lr.stats).toMatchObject({ bytesReceived: 64, bytesRead: 0 });

    const reader = body.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    expect(sent.filter((r) => r.kind === "credit")).toEqual([{ kind: "credit", requestId: id, pieces: 2 }]);
    await reader.read();
    expect(sent.filter((r) => r.kind === "credit")).toEqual([
      { kind: "credit", requestId: id, pieces: 2 },
      { kind: "credit", requestId: id, pieces: 2 },
    ]);
    expect(lr.stats.bytesRead).toBe(32);

    lr.onResponse("i1", { requestId: id, seq: 9, end: true });
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(text).toBe("piece 5\npiece 6\npiece 7\npiece 8\n");
    expect(lr.inFlight).toBe(0);
  });

  test("a reader waiting for data is woken by the next piece and by the end", async () => {
    const { lr, id, body } = await opened(4);
    const reader = body.getReader();
    const first = reader.read();
    lr.onResponse("i1", { requestId: id, seq: 1, data: "late" });
    expect(new TextDecoder().decode((await first).value)).toBe("late");
    const last = reader.read();
    lr.onResponse("i1", { requestId: id, seq: 2, end: true });
    expect((await last).done).toBe(true);
  });
});
