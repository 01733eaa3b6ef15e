import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { latestEventId, readEvents, readRecentEvents, type EventFilter } from "../../events/log.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid } from "../../ops/errors.ts";
import { parseInput } from "../../ops/validate.ts";

/** A comment line now and then keeps proxies and idle timeouts from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** Other control processes' events (HA) are found by looking this often; this process's wake the stream at once. */
const POLL_MS = 1000;

const eventsQuery = z.object({
  cluster: z.string().min(1).max(255).optional(),
  service: z.string().min(1).max(255).optional(),
  instance: z.string().min(1).max(255).optional(),
  /** Start after this event id (what `Last-Event-ID` says on a reconnect; the header wins). */
  after: z.coerce.number().int().min(0).optional(),
  /** A stream without the Accept header (clients that cannot set it, the CLI). */
  follow: z.enum(["true", "false"]).optional(),
  /** JSON answers: how many events at most. */
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * GET /v1/events: the event log (control/events). With `Accept: text/event-stream` a server-sent
 * event stream, each message's `id` the event's id, so a client that reconnects with
 * `Last-Event-ID` (EventSource does) carries on with the next one, after a control restart or a
 * failover too: ids live in the database. Without `after` or the header, the stream starts at
 * the newest event (`follow=true` asks for a stream too). Otherwise JSON: the events after `after`, or the newest `limit`.
 */
export function eventRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.get("/", async (c) => {
    const q = parseInput(eventsQuery, c.req.query());
    const header = c.req.header("last-event-id");
    if (header !== undefined && !/^\d{1,15}$/.test(header.trim())) {
      throw invalid("Last-Event-ID: must be an event id", [{ path: "Last-Event-ID", message: "must be a non-negative integer" }]);
    }
    const after = header !== undefined ? Number(header.trim()) : q.after;
    const filter: EventFilter = { cluster: q.cluster, service: q.service, instance: q.instance };
    if (q.follow !== "true" && !(c.req.header("accept") ?? "").includes("text/event-stream")) {
      const list = after === undefined ? await readRecentEvents(ctx.db, filter, q.limit) : await readEvents(ctx.db, after, filter, q.limit);
      return c.json({ events: list.map((e) => e.envelope), lastEventId: list.at(-1)?.id ?? after ?? (await latestEventId(ctx.db)) });
    }
    return stream(c, ctx, after ?? (await latestEventId(ctx.db)), filter);
  });
  return app;
}

function stream(c: Context, ctx: OpsContext, start: number, filter: EventFilter) {
  // A stream lasts as long as its client: lift Bun's idle timeout for this request only.
  (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
  return streamSSE(c, async (s) => {
    let cursor = start;
    let wake: (() => void) | undefined;
    const unsubscribe = ctx.eventSignal?.subscribe(() => wake?.());
    s.onAbort(() => {
      unsubscribe?.();
      wake?.();
    });
    let lastWrite = Date.now();
    await s.write(": stream open\n\n");
    while (!s.aborted && !s.closed) {
      const batch = await readEvents(ctx.db, cursor, filter, 500);
      for (const e of batch) {
        await s.writeSSE({ id: String(e.id), data: JSON.stringify(e.envelope) });
        cursor = e.id;
        lastWrite = Date.now();
      }
      if (batch.length === 500) continue;
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        await s.write(": keepalive\n\n").catch(() => {});
        lastWrite = Date.now();
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    unsubscribe?.();
  });
}
