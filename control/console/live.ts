import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Change, ChangeBus } from "../change-bus.ts";

/** A comment line now and then keeps proxies and idle timeouts from closing a quiet stream. */
const KEEPALIVE_MS = 20_000;
/** Changes of one burst go out as one message: 500 reports in a second are one page refresh. */
const COALESCE_MS = 250;
/** At most one message a second per page, however busy the fleet: each message costs a page render. */
const MIN_INTERVAL_MS = 1000;

/**
 * Server-sent events: each open page hears which kinds of thing changed (instances, tasks,
 * services) and re-reads itself; nothing polls. The data names kinds only: what a page shows is
 * always read through the operations, with the viewer's own session.
 */
export function liveEvents(c: Context, changes: ChangeBus | undefined) {
  // A stream lasts as long as the page: lift Bun's idle timeout for this request only.
  (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
  return streamSSE(c, async (stream) => {
    let pending = new Set<Change["kind"]>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    let keepalive: ReturnType<typeof setTimeout> | undefined;
    let lastFlush = 0;
    const flush = () => {
      timer = undefined;
      lastFlush = Date.now();
      const kinds = [...pending];
      pending = new Set();
      void stream.writeSSE({ event: "change", data: JSON.stringify({ kinds }) }).catch(() => {});
    };
    const unsubscribe = changes?.subscribe((ch) => {
      pending.add(ch.kind);
      timer ??= setTimeout(flush, Math.max(COALESCE_MS, lastFlush + MIN_INTERVAL_MS - Date.now()));
    });
    stream.onAbort(() => {
      unsubscribe?.();
      if (timer) clearTimeout(timer);
      if (keepalive) clearTimeout(keepalive);
      wake?.();
    });
    await stream.writeSSE({ event: "hello", data: JSON.stringify({ live: changes !== undefined }) });
    while (!stream.aborted && !stream.closed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        keepalive = setTimeout(resolve, KEEPALIVE_MS);
      });
      if (stream.aborted || stream.closed) break;
      await stream.write(": keepalive\n\n").catch(() => {});
    }
    unsubscribe?.();
  });
}
