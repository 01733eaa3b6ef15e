import { describe, expect, test } from "bun:test";
import type { AgentRequest } from "../../../shared/messages.ts";
import { LogRequestError, LogRequests } from "../../../control/link/log-requests.ts";
import { waitFor } from "../../helpers/wait.ts";

/** Until `n` requests have been published (open() publishes asynchronously). */
const published = (sent: unknown[], n = 1) => waitFor(`${n} request(s) to be published`, () => sent.length >= n, { intervalMs: 1 });

function harness(acceptTimeoutMs = 1000) {
  const sent: { instanceId: string; req: AgentRequest }[] = [];
  const lr = new LogRequests({ publish: async (instanceId, req) => void sent.push({ instanceId, req }), acceptTimeoutMs });
  return { lr, sent };
}

const PARAMS = { taskId: "t1", container: "app", follow: true };

describe("LogRequests", () => {
  test("puts pieces back in order and ends with the stream", async () => {
    const { lr, sent } = harness();
    const opening = lr.open("i1", PARAMS);
    await published(sent);
    const id = (sent[0]!.req as { requestId: string }).requestId;
    expect(sent[0]!.req).toMatchObject({ kind: "logs", taskId: "t1", container: "app", follow: true });
    lr.onResponse("i1", { requestId: id, seq: 0 });
    const body = await opening;
    lr.onResponse("i1", { requestId: id, seq: 2, data: "b", end: true });
    lr.onResponse("i2", { requestId: id, seq: 1, data: "forged" }); // another instance: ignored
    lr.onResponse("i1", { requestId: id, seq: 1, data: "a" });
    expect(await new Response(body).text()).toBe("ab");
    expect(lr.inFlight).toBe(0);
  });

  test("an agent's refusal is a 404 error; silence is a 504 and a cancel", async () => {
    const { lr, sent } = harness(50);
    const refused = lr.open("i1", PARAMS);
    await published(sent);
    lr.onResponse("i1", { requestId: (sent[0]!.req as { requestId: string }).requestId, seq: 0, end: true, error: "task t1 is not known on this instance" });
    const e = await refused.catch((x) => x);
    expect(e).toBeInstanceOf(LogRequestError);
    expect(e.status).toBe(404);

    const silent = await lr.open("i1", PARAMS).catch((x) => x);
    expect(silent.status).toBe(504);
    expect(sent.at(-1)!.req.kind).toBe("cancel");
    expect(lr.inFlight).toBe(0);
  });

  test("the client going away sends a cancel; the agent going away ends the stream", async () => {
    const { lr, sent } = harness();
    const a = lr.open("i1", PARAMS);
    await published(sent);
    const idA = (sent[0]!.req as { requestId: string }).requestId;
    lr.onResponse("i1", { requestId: idA, seq: 0 });
    await (await a).cancel();
    expect(sent.at(-1)!.req).toEqual({ kind: "cancel", requestId: idA });

    const b = lr.open("i1", PARAMS);
    await published(sent, 3);
    lr.onResponse("i1", { requestId: (sent.at(-1)!.req as { requestId: string }).requestId, seq: 0, data: "x" });
    const body = await b;
    lr.instanceGone("i1");
    expect(await new Response(body).text()).toContain("the agent disconnected");
    expect(lr.inFlight).toBe(0);
  });

  test("open follows are vouched for per instance; none once they end", async () => {
    const { lr, sent } = harness();
    const a = lr.open("i1", PARAMS);
    const b = lr.open("i1", { ...PARAMS, follow: false });
    await published(sent, 2);
    const [idA, idB] = sent.map((x) => (x.req as { requestId: string }).requestId);
    lr.onResponse("i1", { requestId: idA!, seq: 0 });
    lr.onResponse("i1", { requestId: idB!, seq: 0 });
    await Promise.all([a, b]);
    lr.sendKeepalives();
    expect(sent.at(-1)).toEqual({ instanceId: "i1", req: { kind: "keepalive", requestIds: [idA!] } });
    lr.closeAll();
    const before = sent.length;
    lr.sendKeepalives();
    expect(sent.length).toBe(before);
  });

  test("a client that leaves too much unread is cut off and the agent told to stop", async () => {
    const sent: AgentRequest[] = [];
    const lr = new LogRequests({ publish: async (_i, req) => void sent.push(req), maxBufferedBytes: 4096 });
    const opening = lr.open("i1", PARAMS);
    await published(sent);
    const id = (sent[0] as { requestId: string }).requestId;
    lr.onResponse("i1", { requestId: id, seq: 0 });
    const body = await opening;
    for (let i = 1; i <= 2000 && lr.inFlight; i++) lr.onResponse("i1", { requestId: id, seq: i, data: "x".repeat(1024) });
    expect(lr.inFlight).toBe(0);
    expect(sent.at(-1)).toEqual({ kind: "cancel", requestId: id });
    const text = await new Response(body).text();
    expect(text).toEndWith("[flotilla] log stream ended: the client read too slowly\n");
    expect(text.length).toBeLessThan(1024 * 1024 + 4096 + 2048 + 100);
  });
});
