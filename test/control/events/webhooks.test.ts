import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { EventEnvelope } from "../../../control/events/log.ts";
import type { InstanceHealth } from "../../../shared/messages.ts";
import { createActivation } from "../../../control/ops/activations.ts";
import { registerContainerInstance } from "../../../control/ops/instances.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { addInstance } from "../../helpers/ops.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * Webhooks against a receiver in the test (Bun.serve on 127.0.0.1): retries with backoff until it
 * accepts, signatures the receiver checks, one delivery in flight per hook (so order holds), the
 * allow-list, admin-only creation, secrets never echoed, and a hook disabled after persistent
 * failure with an event saying so. Backoff is milliseconds here, so nothing waits for real minutes.
 */
interface Received {
  path: string;
  body: string;
  headers: Headers;
}

let t: TestControl;
const received: Received[] = [];
/** Per path: how many requests to refuse (500) before accepting; Infinity = always. */
const failures = new Map<string, number>();
let receiver: ReturnType<typeof Bun.serve>;
let instanceId: string;
const SECRET = "a-test-secret-of-some-length";

beforeAll(async () => {
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      received.push({ path, body: await req.text(), headers: req.headers });
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        return new Response("not now", { status: 500 });
      }
      return new Response("ok");
    },
  });
  t = await startTestControl({
    extra: { webhooks: { allowHosts: ["127.0.0.1"], baseBackoffMs: 10, maxBackoffMs: 40, maxAttempts: 3, pollMs: 20, timeoutMs: 2000 } },
  });
  await t.api("POST", "/v1/clusters", { clusterName: "wh" });
  instanceId = await addInstance(t.control, "wh", { cpu: 1024, memory: 1024 });
});

afterAll(async () => {
  await t?.stop();
  await receiver?.stop(true);
});

const url = (path: string) => `http://127.0.0.1:${receiver.port}${path}`;
const setStatus = (status: "ACTIVE" | "DRAINING") => t.api("PATCH", `/v1/clusters/wh/container-instances/${instanceId}`, { status });

function verify(r: Received, secret: string): boolean {
  const ts = r.headers.get("x-flotilla-timestamp")!;
  const expected = "sha256=" + createHmac("sha256", secret).update(`${ts}.${r.body}`).digest("hex");
  const got = r.headers.get("x-flotilla-signature") ?? "";
  return got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
}

async function createHook(path: string, extra: Record<string, unknown> = {}) {
  const res = await t.api("POST", "/v1/webhooks", { url: url(path), secret: SECRET, detailTypes: ["ECS Container Instance State Change"], ...extra });
  expect(res.status).toBe(201);
  return res.body.webhook.webhookId as string;
}

const deliveries = async (id: string) => (await t.api("GET", `/v1/webhooks/${id}/deliveries`)).body.deliveries as any[];

test("a receiver that fails twice then accepts: one delivery, SUCCEEDED after 3 attempts, every attempt signed", async () => {
  failures.set("/flaky", 2);
  const id = await createHook("/flaky");
  await setStatus("DRAINING");
  const [d] = await waitFor("the delivery to succeed", async () => {
    const list = await deliveries(id);
    return list.length === 1 && list[0].status === "SUCCEEDED" && list;
  });
  expect(d).toMatchObject({ status: "SUCCEEDED", attempts: 3, responseStatus: 200 });
  const attempts = received.filter((r) => r.path === "/flaky");
  expect(attempts).toHaveLength(3);
  // The same event each time, signed each time with the hook's secret over timestamp.body.
  for (const a of attempts) {
    expect(verify(a, SECRET)).toBe(true);
    expect(verify(a, "some-other-secret-entirely")).toBe(false);
    expect(a.headers.get("x-flotilla-event-id")).toBe(String(d.eventId));
  }
  const event = JSON.parse(attempts[0]!.body) as EventEnvelope;
  expect(event).toMatchObject({ "detail-type": "ECS Container Instance State Change", source: "flotilla.ecs", id: String(d.eventId) });
  expect(event.detail).toMatchObject({ status: "DRAINING", agentConnected: true });
  await t.api("DELETE", `/v1/webhooks/${id}`);
  await setStatus("ACTIVE");
});

test("one delivery in flight per hook: events arrive in log order even when attempts fail", async () => {
  failures.set("/ordered", 2); // the first event needs retries; the later ones wait behind it
  const id = await createHook("/ordered");
  for (let i = 0; i < 3; i++) {
    await setStatus("DRAINING");
    await setStatus("ACTIVE");
  }
  const list = await waitFor("six deliveries succeeded", async () => {
    const l = await deliveries(id);
    return l.length === 6 && l.every((d) => d.status === "SUCCEEDED") && l;
  });
  // Accepted requests, in the order the receiver saw them, carry rising event ids.
  const accepted = received.filter((r) => r.path === "/ordered").map((r) => Number(r.headers.get("x-flotilla-event-id")));
  const order = accepted.slice(2);
  expect(accepted[0]).toBe(order[0]!); // the refused attempts were the first event's
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(new Set(order).size).toBe(6);
  expect(list.map((d) => d.eventId).reverse()).toEqual(order);
  await t.api("DELETE", `/v1/webhooks/${id}`);
});

test("a hook that keeps failing is DISABLED, its delivery FAILED, and an event says so", async () => {
  failures.set("/down", Infinity);
  const id = await createHook("/down");
  await setStatus("DRAINING");
  const hook = await waitFor("the hook disabled", async () => {
    const h = (await t.api("GET", `/v1/webhooks/${id}`)).body.webhook;
    return h.status === "DISABLED" && h;
  });
  expect(hook.statusReason).toContain("HTTP 500");
  const [d] = await deliveries(id);
  expect(d).toMatchObject({ status: "FAILED", attempts: 3, lastError: "HTTP 500" });
  const events = (await t.api("GET", "/v1/events?limit=50")).body.events as EventEnvelope[];
  const disabled = events.find((e) => e["detail-type"] === "Flotilla Webhook Disabled" && e.detail.webhookId === id);
  expect(disabled?.detail.reason).toContain("failed 3 times");
  // Disabled means quiet: a later event is not attempted.
  const before = received.filter((r) => r.path === "/down").length;
  // Disabled means quiet: a witness hook created now gets the next event; once it has, the
  // worker has been past that event, and the disabled hook must not have been tried with it.
  const witness = await createHook("/witness");
  await setStatus("ACTIVE");
  await waitFor("the witness delivery", async () => (await deliveries(witness)).some((x) => x.status === "SUCCEEDED"));
  expect(received.filter((r) => r.path === "/down").length).toBe(before);
  expect(await deliveries(id)).toHaveLength(1);
  await t.api("DELETE", `/v1/webhooks/${witness}`);
});

test("destinations: http(s) only, the allow-list refuses other hosts, with the field named", async () => {
  for (const bad of ["http://10.0.0.1/hook", "http://localhost:1/x", "ftp://127.0.0.1/x", "not a url", "http://user:pw@127.0.0.1/x"]) {
    const res = await t.api("POST", "/v1/webhooks", { url: bad });
    expect(res.status).toBe(400);
    expect(res.body.error.fields?.[0]?.path ?? JSON.stringify(res.body)).toContain("url");
  }
  const badType = await t.api("POST", "/v1/webhooks", { url: url("/x"), detailTypes: ["Nope"] });
  expect(badType.status).toBe(400);
  expect(JSON.stringify(badType.body)).toContain("detailTypes[0]");
});

test("only admins manage webhooks, and a secret is never echoed back", async () => {
  const op = await t.api("POST", "/v1/tokens", { name: "op", role: "operator" });
  expect((await t.api("POST", "/v1/webhooks", { url: url("/x") }, op.body.token)).status).toBe(403);
  expect((await t.api("GET", "/v1/webhooks", undefined, op.body.token)).status).toBe(403);
  const given = await t.api("POST", "/v1/webhooks", { url: url("/x"), secret: SECRET });
  expect(given.body.secret).toBeUndefined();
  expect(given.body.webhook.secretHint).toBe(`…${SECRET.slice(-4)}`);
  // A generated secret is shown once, at creation.
  const made = await t.api("POST", "/v1/webhooks", { url: url("/y") });
  expect(made.body.secret).toMatch(/^whsec_/);
  const listed = JSON.stringify((await t.api("GET", "/v1/webhooks")).body);
  expect(listed).not.toContain(SECRET);
  expect(listed).not.toContain(made.body.secret);
  for (const h of [given, made]) expect((await t.api("DELETE", `/v1/webhooks/${h.body.webhook.webhookId}`)).status).toBe(200);
  expect((await t.api("GET", `/v1/webhooks/${given.body.webhook.webhookId}`)).status).toBe(404);
  // Audited by name; the audit log keeps method and path, never the body with its secret.
  const audit = JSON.stringify((await t.api("GET", "/v1/audit?limit=200")).body);
  expect(audit).toContain("CreateWebhook");
  expect(audit).toContain("DeleteWebhook");
  expect(audit).not.toContain(SECRET);
});

test("the allow-list is checked again at delivery: a hook made before it was set is refused, at once; finished deliveries go with their events", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "flotilla-wh-allow-"));
  let c = await startTestControl({ dir, extra: { webhooks: { pollMs: 20, baseBackoffMs: 10, maxBackoffMs: 40, maxAttempts: 5 } } });
  try {
    const made = await c.api("POST", "/v1/webhooks", { url: url("/before-allow-list"), secret: SECRET });
    expect(made.status).toBe(201);
    const id = made.body.webhook.webhookId as string;
    await c.stop();
    // Restarted with an allow-list that does not name 127.0.0.1, and a log that keeps one event.
    c = await startTestControl({ dir, extra: { webhooks: { allowHosts: ["hooks.example.com"], pollMs: 20, maxAttempts: 5 }, eventRetention: { maxCount: 1, intervalMs: 20 } } });
    await c.api("POST", "/v1/clusters", { clusterName: "allow" });
    const act = await createActivation(c.control.ctx, "allow", {});
    const reg = await registerContainerInstance(c.control.ctx, act.activationId, act.activationCode, {
      hostname: "allow-host",
      resources: { cpu: 1024, memory: 1024 },
      attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64" },
      versionInfo: { agentVersion: "test", dockerVersion: "test" },
    });
    if (!reg.ok) throw new Error(reg.reason);
    const [d] = await waitFor("the refused delivery", async () => {
      const l = (await c.api("GET", `/v1/webhooks/${id}/deliveries`)).body.deliveries as any[];
      return l.length > 0 && l[0].status === "FAILED" && l;
    });
    // Refused without a request and without retries (the allow-list will not change its mind).
    expect(d).toMatchObject({ attempts: 1, lastError: expect.stringContaining("allow-list") });
    expect(received.some((r) => r.path === "/before-allow-list")).toBe(false);
    expect((await c.api("GET", `/v1/webhooks/${id}`)).body.webhook.status).toBe("DISABLED");
    // Retention keeps one event; the FAILED delivery of a pruned event leaves the delivery log.
    await waitFor("the delivery log pruned", async () => ((await c.api("GET", `/v1/webhooks/${id}/deliveries`)).body.deliveries as any[]).length === 0);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an instance's health status change is an event; the same reading again is not", async () => {
  const { applyHealth } = await import("../../../control/ops/instances.ts");
  const before = Number((await t.api("GET", "/v1/events?limit=1")).body.lastEventId);
  const reading = (overallStatus: "OK" | "IMPAIRED", checkedAt: number): InstanceHealth => ({ overallStatus, checkedAt, details: [], metrics: {} });
  await applyHealth(t.control.ctx, instanceId, reading("IMPAIRED", 1));
  await applyHealth(t.control.ctx, instanceId, reading("IMPAIRED", 2));
  await applyHealth(t.control.ctx, instanceId, reading("OK", 3));
  const list = (await t.api("GET", `/v1/events?after=${before}&instance=${instanceId}`)).body.events as EventEnvelope[];
  expect(list.map((e) => e.detail.healthStatus)).toEqual(["IMPAIRED", "OK"]);
});
