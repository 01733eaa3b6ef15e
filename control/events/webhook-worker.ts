/**
 * Delivers the event log to webhooks. Each hook has a cursor (the last event id it took) and at
 * most one delivery in flight, so a hook sees its events in log order; a failing delivery is
 * retried with exponential backoff and jitter, and after `maxAttempts` it FAILS and its hook is
 * DISABLED (with a "Flotilla Webhook Disabled" event). Runs as a leader duty: one deliverer per
 * database, whether single or HA (its writes then prove the lease).
 */
import { and, asc, eq } from "drizzle-orm";
import { webhookDeliveries, webhooks } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { appendEvents, envelopeOf, readEvents } from "./log.ts";
import { events } from "../db/schema.ts";
import { destinationRefusal, webhookSignature, type WebhookOptions } from "./webhook-options.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

type HookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface WebhookWorkerDeps {
  fetch?: typeof fetch;
  random?: () => number;
  log?: Logger;
}

export function backoffMs(attempt: number, o: Pick<WebhookOptions, "baseBackoffMs" | "maxBackoffMs">, random: () => number): number {
  const ceiling = Math.min(o.maxBackoffMs, o.baseBackoffMs * 2 ** Math.max(0, attempt - 1));
  // Full jitter, never below half: hooks that failed together do not retry together.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function startWebhookWorker(ctx: OpsContext, o: WebhookOptions, deps: WebhookWorkerDeps = {}): () => Promise<void> {
  const doFetch = deps.fetch ?? fetch;
  const random = deps.random ?? Math.random;
  const log = withComponent(deps.log ?? silentLogger, "webhooks");
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;

  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        const hooks = await ctx.db.select().from(webhooks).where(eq(webhooks.status, "ENABLED")).all();
        await Promise.all(hooks.map((h) => drain(h).catch((e: Error) => log.error({ webhookId: h.id }, `${h.id}: ${e.message}`))));
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  };

  /** Works one hook until it has nothing due: one delivery at a time, in event order. */
  const drain = async (hook: HookRow) => {
    for (let step = 0; step < 100 && !stopped; step++) {
      let d = await ctx.db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.webhookId, hook.id), eq(webhookDeliveries.status, "PENDING"))).orderBy(asc(webhookDeliveries.id)).limit(1).get();
      if (!d) {
        d = await takeNext(hook);
        if (!d) return;
      }
      if (d.nextAttemptAt > ctx.clock.now()) return;
      const outcome = await attempt(hook, d);
      if (outcome !== "succeeded") return;
    }
  };

  /** The hook's next matching event becomes a PENDING delivery, and the cursor moves past it, together. */
  const takeNext = (hook: HookRow) =>
    ctx.serialize(async () => {
      const [next] = await readEvents(ctx.db, hook.cursor, { detailTypes: hook.detailTypes, clusters: hook.clusters }, 1);
      if (!next) return undefined;
      const now = ctx.clock.now();
      return ctx.db.transaction(async (tx) => {
        const moved = await tx.update(webhooks).set({ cursor: next.id }).where(and(eq(webhooks.id, hook.id), eq(webhooks.cursor, hook.cursor), eq(webhooks.status, "ENABLED")));
        if (moved.rowsAffected !== 1) return undefined;
        hook.cursor = next.id;
        const [row] = await tx
          .insert(webhookDeliveries)
          .values({ webhookId: hook.id, eventId: next.id, status: "PENDING", attempts: 0, nextAttemptAt: now, createdAt: now, updatedAt: now })
          .returning();
        return row;
      });
    });

  const attempt = async (hook: HookRow, d: DeliveryRow): Promise<"succeeded" | "retry" | "failed"> => {
    const row = await ctx.db.select().from(events).where(eq(events.id, d.eventId)).get();
    let error: string | null = null;
    let status: number | null = null;
    const refusal = destinationRefusal(hook.url, o.allowHosts);
    if (!row) error = "the event is no longer in the log (retention)";
    else if (refusal) error = refusal;
    else {
      const body = JSON.stringify(envelopeOf(row));
      const timestamp = String(Math.floor(ctx.clock.now() / 1000));
      try {
        const res = await doFetch(hook.url, {
          method: "POST",
          // A redirect is not followed: it could point anywhere, around the allow-list.
          redirect: "manual",
          signal: AbortSignal.timeout(o.timeoutMs),
          headers: {
            "content-type": "application/json",
            "user-agent": "flotilla-webhooks",
            "x-flotilla-event-id": String(d.eventId),
            "x-flotilla-delivery": String(d.id),
            "x-flotilla-timestamp": timestamp,
            "x-flotilla-signature": webhookSignature(hook.secret, timestamp, body),
          },
          body,
        });
        status = res.status;
        await readBounded(res, o.maxResponseBytes);
        if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
      } catch (e) {
        error = (e as Error).name === "TimeoutError" ? `no response within ${o.timeoutMs} ms` : (e as Error).message;
      }
    }
    const now = ctx.clock.now();
    const attempts = d.attempts + 1;
    if (error === null) {
      await ctx.serialize(() => ctx.db.update(webhookDeliveries).set({ status: "SUCCEEDED", attempts, responseStatus: status, lastError: null, updatedAt: now }).where(eq(webhookDeliveries.id, d.id)));
      return "succeeded";
    }
    // An event gone from the log cannot be sent later either, nor a destination the allow-list refuses.
    const final = attempts >= o.maxAttempts || !row || refusal !== null;
    if (!final) {
      await ctx.serialize(() =>
        ctx.db
          .update(webhookDeliveries)
          .set({ attempts, responseStatus: status, lastError: error, nextAttemptAt: now + backoffMs(attempts, o, random), updatedAt: now })
          .where(eq(webhookDeliveries.id, d.id)),
      );
      return "retry";
    }
    const reason = `delivery ${d.id} failed ${attempts} times; last error: ${error}`;
    await ctx.serialize(() =>
      ctx.db.transaction(async (tx) => {
        await tx.update(webhookDeliveries).set({ status: "FAILED", attempts, responseStatus: status, lastError: error, updatedAt: now }).where(eq(webhookDeliveries.id, d.id));
        await tx.update(webhooks).set({ status: "DISABLED", statusReason: reason, updatedAt: now }).where(eq(webhooks.id, hook.id));
        await appendEvents(tx, now, [{ detailType: "Flotilla Webhook Disabled", resources: [], detail: { webhookId: hook.id, url: hook.url, reason } }]);
      }),
    );
    ctx.eventSignal?.notify();
    log.warn({ webhookId: hook.id }, `${hook.id} disabled: ${reason}`);
    return "failed";
  };

  const unsubscribe = ctx.eventSignal?.subscribe(tick);
  const timer = setInterval(tick, o.pollMs);
  tick();
  return async () => {
    stopped = true;
    unsubscribe?.();
    clearInterval(timer);
    await running;
  };
}

/** Reads at most `limit` bytes of a response, then lets the rest go. */
async function readBounded(res: Response, limit: number): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let seen = 0;
  try {
    while (seen < limit) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
