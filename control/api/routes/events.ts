import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { EventFeed } from "../../events/feed.ts";
import { latestEventId, readEvents, readRecentEvents, type EventFilter } from "../../events/log.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid } from "../../ops/errors.ts";
import { parseInput } from "../../ops/validate.ts";

/** A comment line now and then keeps proxies and idle timeouts from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** Events a stream sends per write (and reads per look at the log when it is catching up). */
const BATCH = 500;

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
  // One reader of the log for every stream this process serves (control/events/feed.ts).
  const feed = new EventFeed(ctx.db, ctx.eventSignal);
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
    return stream(c, feed, after ?? (await latestEventId(ctx.db)), filter);
  });
  return app;
}

function stream(c: Context, feed: EventFeed, start: number, filter: EventFilter) {
  // A stream lasts as long as its client: lift Bun's idle timeout for this request only.
  (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
  return streamSSE(c, async (s) => {
    let cursor = start;
    const close = feed.open();
    const aborted = new AbortController();
    s.onAbort(() => {
      close();
      aborted.abort();
    });
    try {
      let lastWrite = Date.now();
      await s.write(": stream open\n\n");
      while (!s.aborted && !s.closed) {
        // Taken before reading: whatever the feed reads from here on wakes the wait below.
        const seen = feed.version;
        const batch = await feed.read(cursor, filter, BATCH);
        if (batch.events.length > 0) {
          // One write per batch; the data is the envelope JSON, which has no newline.
          await s.write(batch.events.map((e) => `data: ${e.data}\nid: ${e.id}\n\n`).join(""));
          lastWrite = Date.now();
        }
        cursor = batch.next;
        if (batch.events.length === BATCH) continue;
        if (Date.now() - lastWrite >= KEEPALIVE_MS) {
          await s.write(": keepalive\n\n").catch(() => {});
          lastWrite = Date.now();
        }
        await feed.changed(seen, KEEPALIVE_MS - (Date.now() - lastWrite), aborted.signal);
      }
    } finally {
      close();
    }
  });
}
