import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyPresence } from "../../../control/ops/instances.ts";
import { addInstance } from "../../helpers/ops.ts";
import { waitFor } from "../../helpers/wait.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

let h: ConsoleHarness;
let instanceId: string;
beforeAll(async () => {
  h = await consoleHarness();
  await h.t.request("POST", "/v1/clusters", { clusterName: "shop" });
  instanceId = await addInstance(h.t, "shop");
});
afterAll(() => h.close());

/** Reads server-sent events from a response body into a list, until aborted. */
function collect(res: Response) {
  const events: { event: string; data: string; at: number }[] & { close?: () => Promise<void> } = [];
  const reader = res.body!.getReader();
  // Cancelling the body is the page going away: the server's stream sees the abort.
  events.close = () => reader.cancel();
  const decoder = new TextDecoder();
  let buf = "";
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) events.push({ event, data, at: performance.now() });
      }
    }
  })();
  return events;
}

describe("live updates over server-sent events", () => {
  test("without a session the stream is refused", async () => {
    const res = await h.app.request("/console/events", { headers: { accept: "text/event-stream" } });
    expect(res.status).toBe(401);
  });

  test("a host's presence change reaches an open stream as an instance change, and the page then reads it disconnected", async () => {
    const { cookie } = await h.login();
    const res = await h.app.request("/console/events", { headers: { cookie, accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = collect(res);
    await waitFor("hello event", async () => events.some((e) => e.event === "hello") || undefined);
    expect(h.changes.size).toBe(1);

    // The agent's last will, applied through the presence path.
    await applyPresence(h.t.ctx, instanceId, { connected: false, epoch: 1 });
    const change = await waitFor("instance change event", async () => events.find((e) => e.event === "change"));
    expect(JSON.parse(change.data).kinds).toContain("instance");
    const page = await h.get("/console/clusters/shop/hosts", cookie);
    expect(page.html).toContain("</span> disconnected</span>");

    await events.close!();
    await waitFor("listener removed after the page closed", async () => h.changes.size === 0 || undefined);
  });

  test("a burst of changes is coalesced into one message", async () => {
    const { cookie } = await h.login();
    const res = await h.app.request("/console/events", { headers: { cookie, accept: "text/event-stream" } });
    const events = collect(res);
    await waitFor("hello event", async () => events.some((e) => e.event === "hello") || undefined);
    for (let i = 0; i < 50; i++) h.changes.emit({ kind: "tasks", instanceId });
    h.changes.emit({ kind: "services" });
    const change = await waitFor("change event", async () => events.find((e) => e.event === "change"));
    expect(JSON.parse(change.data).kinds.sort()).toEqual(["services", "tasks"]);
    // The next change is the next message: the 51 changes above were one.
    h.changes.emit({ kind: "instance", instanceId });
    await waitFor("second change event", async () => events.filter((e) => e.event === "change").length >= 2 || undefined);
    const changes = events.filter((e) => e.event === "change");
    expect(changes).toHaveLength(2);
    expect(JSON.parse(changes[1]!.data).kinds).toEqual(["instance"]);
    // A busy fleet costs each page at most one refresh a second: the second message came a
    // second after the first (a lower bound; a slow machine only makes it later).
    expect(changes[1]!.at - changes[0]!.at).toBeGreaterThanOrEqual(900);
    await events.close!();
    await waitFor("listener removed", async () => h.changes.size === 0 || undefined);
  });
});
