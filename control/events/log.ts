/**
 * The event log: append, read after an id, prune. Writers call `appendEvents` with the same
 * database handle (a transaction, or the leader's fenced view) as the change an event describes,
 * inside the same serialized section, so an event exists exactly when its change does. Ids come
 * from the database (AUTOINCREMENT): they only rise, whichever control process wrote them.
 */
import { and, asc, eq, gt, inArray, lt, lte, ne, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/open.ts";
import { events, webhookDeliveries } from "../db/schema.ts";
import { EVENT_ACCOUNT, EVENT_REGION, EVENT_SOURCE, type NewEvent } from "./shapes.ts";

/** A drizzle handle that can insert: the database, a transaction, or the fenced view. */
type Writer = Pick<Db, "insert">;

/** In-process wake-up for streams and the webhook worker; other processes' writes are found by polling. */
export class EventSignal {
  private readonly listeners = new Set<() => void>();
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  notify(): void {
    for (const fn of this.listeners) {
      try {
        fn();
      } catch {
        // a listener's error is its own
      }
    }
  }
}

export async function appendEvents(db: Writer, at: number, list: NewEvent[], signal?: EventSignal): Promise<void> {
  if (list.length === 0) return;
  // Chunks keep each statement well under SQLite's bound-parameter limit.
  for (let i = 0; i < list.length; i += 100) {
    await db.insert(events).values(list.slice(i, i + 100).map((e) => eventRow(at, e)));
  }
  signal?.notify();
}

function eventRow(at: number, e: NewEvent): Omit<typeof events.$inferInsert, "id"> {
  return {
    time: at,
    detailType: e.detailType,
    clusterName: e.clusterName ?? null,
    serviceName: e.serviceName ?? null,
    instanceId: e.instanceId ?? null,
    taskId: e.taskId ?? null,
    body: JSON.stringify({ resources: e.resources, detail: e.detail }),
  };
}

/** Columns of an event row as the placement commit worker inserts it (`EVENT_INSERT_COLUMNS` order). */
export const EVENT_INSERT_COLUMNS = ["time", "detailType", "clusterName", "serviceName", "instanceId", "taskId", "body"] as const;
export type EncodedEvent = [number, string, string | null, string | null, string | null, string | null, string];

/** An event as plain values, to travel to the commit worker with the rows it describes. */
export function encodeEvent(at: number, e: NewEvent): EncodedEvent {
  const r = eventRow(at, e);
  return [r.time, r.detailType, r.clusterName ?? null, r.serviceName ?? null, r.instanceId ?? null, r.taskId ?? null, r.body];
}

/** The EventBridge envelope a stream or a webhook delivers. */
export interface EventEnvelope {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface EventFilter {
  cluster?: string;
  service?: string;
  instance?: string;
  detailTypes?: string[];
  clusters?: string[];
}

type EventRow = typeof events.$inferSelect;

export function envelopeOf(row: EventRow): EventEnvelope {
  const body = JSON.parse(row.body) as { resources: string[]; detail: Record<string, unknown> };
  // ECS's task `version` orders one task's events; the log's id does that here (it only rises).
  const detail = row.detailType === "ECS Task State Change" ? { ...body.detail, version: row.id } : body.detail;
  return {
    version: "0",
    id: String(row.id),
    "detail-type": row.detailType,
    source: EVENT_SOURCE,
    account: EVENT_ACCOUNT,
    time: new Date(row.time).toISOString(),
    region: EVENT_REGION,
    resources: body.resources,
    detail,
  };
}

function where(after: number, f: EventFilter): SQL {
  const parts: (SQL | undefined)[] = [gt(events.id, after)];
  if (f.cluster) parts.push(eq(events.clusterName, f.cluster));
  if (f.service) parts.push(eq(events.serviceName, f.service));
  if (f.instance) parts.push(eq(events.instanceId, f.instance));
  if (f.detailTypes?.length) parts.push(inArray(events.detailType, f.detailTypes));
  if (f.clusters?.length) parts.push(inArray(events.clusterName, f.clusters));
  return and(...parts)!;
}

/** Events after `after` (an id), oldest first. */
export async function readEvents(db: Db, after: number, filter: EventFilter = {}, limit = 500): Promise<{ id: number; envelope: EventEnvelope }[]> {
  const rows = await db.select().from(events).where(where(after, filter)).orderBy(asc(events.id)).limit(limit).all();
  return rows.map((r) => ({ id: r.id, envelope: envelopeOf(r) }));
}

export async function latestEventId(db: Db): Promise<number> {
  const row = await db.select({ id: sql<number | null>`max(${events.id})` }).from(events).get();
  return row?.id ?? 0;
}

/** Retention: keep at most `maxCount` events and none older than `maxAgeMs`. */
export interface EventRetention {
  maxCount: number;
  maxAgeMs: number;
}

export const DEFAULT_RETENTION: EventRetention = { maxCount: 100_000, maxAgeMs: 7 * 24 * 3600_000 };

/** Deletes what retention no longer keeps; returns how many went. */
export async function pruneEvents(db: Pick<Db, "delete" | "select">, now: number, r: EventRetention): Promise<number> {
  let removed = (await db.delete(events).where(lt(events.time, now - r.maxAgeMs))).rowsAffected;
  const newest = await db.select({ id: sql<number | null>`max(${events.id})` }).from(events).get();
  if (newest?.id != null) removed += (await db.delete(events).where(lte(events.id, newest.id - r.maxCount))).rowsAffected;
  // Finished deliveries of events the log no longer keeps go with them: the delivery log is bounded too.
  await db
    .delete(webhookDeliveries)
    .where(and(ne(webhookDeliveries.status, "PENDING"), sql`${webhookDeliveries.eventId} < coalesce((select min(${events.id}) from ${events}), ${newest?.id ?? 0} + 1)`));
  return removed;
}

/** The newest `limit` events (matching the filter), oldest first. */
export async function readRecentEvents(db: Db, filter: EventFilter, limit: number): Promise<{ id: number; envelope: EventEnvelope }[]> {
  const rows = await db.select().from(events).where(where(0, filter)).orderBy(sql`${events.id} desc`).limit(limit).all();
  return rows.reverse().map((r) => ({ id: r.id, envelope: envelopeOf(r) }));
}
