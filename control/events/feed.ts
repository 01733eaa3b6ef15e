/**
 * One reader of the event log per control process, fanned out to every open stream
 * (GET /v1/events). Before it, each stream read the log itself after every append: 20 streams
 * made 20 queries, 20 parses and 20 serializations of each event, and a wake-up that came while a
 * stream was writing was lost, so that stream waited for its next poll (up to a second).
 *
 * The feed keeps the newest events it read (`capacity`, in id order, each serialized once) and a
 * `version` that rises whenever it has read more. A stream reads from memory when its cursor is
 * inside what the feed holds, and from the database when it is further back (a client resuming
 * from an old Last-Event-ID, or one too slow to keep up: it falls out of the window and catches
 * up from the log, so a slow client costs reads, not memory). Reads run on this process's appends
 * (EventSignal) at once and, while any stream is open, every `pollMs` for other processes'
 * appends under HA; one read at a time, and a wake-up during a read makes another.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/open.ts";
import { events } from "../db/schema.ts";
import { envelopeOf, latestEventId, readEvents, type EventFilter, type EventSignal } from "./log.ts";

/** An event as a stream sends it: its id, what it is filtered on, and the envelope's JSON (once). */
export interface FeedEvent {
  id: number;
  clusterName: string | null;
  serviceName: string | null;
  instanceId: string | null;
  data: string;
}

export interface EventFeedOptions {
  /** Events kept in memory (default 10,000: ten seconds at 1,000 changes a second). */
  capacity?: number;
  /** How often the log is read for other processes' appends while a stream is open (ms). */
  pollMs?: number;
}

type StreamFilter = Pick<EventFilter, "cluster" | "service" | "instance">;

const matches = (e: FeedEvent, f: StreamFilter) =>
  (!f.cluster || e.clusterName === f.cluster) && (!f.service || e.serviceName === f.service) && (!f.instance || e.instanceId === f.instance);

const PAGE = 1000;

export class EventFeed {
  private readonly capacity: number;
  private readonly pollMs: number;
  /** The newest events read, oldest first; complete for every id after `from`. */
  private window: FeedEvent[] = [];
  /** Every event with an id above this, up to `head`, is in `window`; undefined until the first read. */
  private from: number | undefined;
  private head = 0;
  /** Rises after each read that found something; streams wait for it to pass what they saw. */
  version = 0;
  private readonly waiters = new Set<() => void>();
  private streams = 0;
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Queries of the log made through the feed, its own and streams' catching up: one per wake-up, not one per stream. */
  logReads = 0;

  constructor(
    private readonly db: Db,
    private readonly signal: EventSignal | undefined,
    opts: EventFeedOptions = {},
  ) {
    this.capacity = Math.max(1, opts.capacity ?? 10_000);
    this.pollMs = opts.pollMs ?? 1000;
  }

  /** A stream opens: the feed reads while at least one is open. Call the returned function when it closes. */
  open(): () => void {
    if (this.streams++ === 0) {
      this.unsubscribe = this.signal?.subscribe(() => this.wake());
      this.timer = setInterval(() => this.wake(), this.pollMs);
      this.wake();
    }
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      if (--this.streams > 0) return;
      this.unsubscribe?.();
      clearInterval(this.timer);
      // Nobody reads while no stream is open, so what is kept would go stale: start afresh next time.
      this.window = [];
      this.from = undefined;
    };
  }

  /** Reads the log after `head` (again, if a wake-up came while reading). */
  wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readNew();
        } while (this.again && this.streams > 0);
      } catch {
        // The next wake-up or poll tries again; streams keep waiting meanwhile.
      } finally {
        this.reading = undefined;
      }
    })();
  }

  private async readNew(): Promise<void> {
    if (this.from === undefined) {
      this.head = await latestEventId(this.db);
      this.from = this.head;
    }
    let found = false;
    for (;;) {
      this.logReads++;
      const rows = await this.db.select().from(events).where(sql`${events.id} > ${this.head}`).orderBy(events.id).limit(PAGE).all();
      if (this.from === undefined) return; // every stream closed meanwhile
      for (const r of rows) this.window.push({ id: r.id, clusterName: r.clusterName, serviceName: r.serviceName, instanceId: r.instanceId, data: JSON.stringify(envelopeOf(r)) });
      if (rows.length > 0) {
        this.head = rows.at(-1)!.id;
        found = true;
      }
      if (rows.length < PAGE) break;
    }
    if (this.window.length > this.capacity) {
      const drop = this.window.length - this.capacity;
      this.from = this.window[drop - 1]!.id;
      this.window = this.window.slice(drop);
    }
    if (found) {
      this.version++;
      for (const w of [...this.waiters]) w();
    }
  }

  /**
   * Up to `limit` events after `cursor` that match, oldest first, and the cursor to read on from
   * (past the events that did not match, so they are not looked at again).
   */
  async read(cursor: number, filter: StreamFilter, limit: number): Promise<{ events: FeedEvent[]; next: number }> {
    if (this.from === undefined || cursor < this.from) {
      // Everything up to `head` was committed before this query, which sees it all: a short
      // answer means nothing else up to there matches, and the stream moves on into the window.
      const head = this.head;
      this.logReads++;
      const rows = await readEvents(this.db, cursor, filter, limit);
      const list = rows.map((r) => ({ id: r.id, clusterName: null, serviceName: null, instanceId: null, data: JSON.stringify(r.envelope) }));
      const last = list.at(-1)?.id ?? cursor;
      return { events: list, next: list.length < limit ? Math.max(last, head) : last };
    }
    const out: FeedEvent[] = [];
    let next = Math.max(cursor, this.from);
    for (let i = this.indexAfter(cursor); i < this.window.length && out.length < limit; i++) {
      const e = this.window[i]!;
      if (matches(e, filter)) out.push(e);
      next = e.id;
    }
    return { events: out, next };
  }

  /**
   * Resolves when the feed has read more than it had at `version` (at once if it already has: a
   * read that finished while the stream was busy writing is not missed), after `ms`, or on `abort`.
   */
  changed(version: number, ms: number, abort?: AbortSignal): Promise<void> {
    if (this.version !== version || abort?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        abort?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
      abort?.addEventListener("abort", done);
    });
  }

  /** Index of the first kept event with an id above `cursor` (binary search: ids rise). */
  private indexAfter(cursor: number): number {
    let lo = 0;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.window[mid]!.id <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
