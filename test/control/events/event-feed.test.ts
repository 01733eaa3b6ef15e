import { afterEach, expect, test } from "bun:test";
import { EventFeed } from "../../../control/events/feed.ts";
import { EventSignal, latestEventId, readEvents, type EventFilter } from "../../../control/events/log.ts";
import { updateInstanceStatus } from "../../../control/ops/instances.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The shared reader behind GET /v1/events (control/events/feed.ts) over a real libSQL file, with
 * events made by the operations that make them (registration, presence, instance status): every
 * stream gets every event after its cursor exactly once and in order whether it reads from the
 * feed's memory or catches up from the log; one read of the log per wake-up however many streams
 * wait; a read that finishes while a stream is busy still wakes it; appends the feed is not told
 * of (another control process's, under HA) are found by polling.
 */
const NEVER = 2 ** 31 - 1;
let t: TestOps;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  t?.close();
});

async function setUp(opts: { capacity?: number; pollMs?: number; signal?: boolean } = {}) {
  t = await createTestOps();
  const signal = new EventSignal();
  if (opts.signal !== false) t.ctx.eventSignal = signal;
  await t.request("POST", "/v1/clusters", { clusterName: "feed" });
  const a = await addInstance(t, "feed");
  const b = await addInstance(t, "feed");
  const feed = new EventFeed(t.ctx.db, opts.signal === false ? undefined : signal, { capacity: opts.capacity, pollMs: opts.pollMs ?? 60_000 });
  return { feed, a, b };
}

/** Flips an instance between DRAINING and ACTIVE: one event each time. */
async function flip(instanceId: string, times: number) {
  const row = await t.request("GET", `/v1/clusters/feed/container-instances/${instanceId}`);
  let status = row.body.containerInstance.status as string;
  for (let i = 0; i < times; i++) {
    status = status === "ACTIVE" ? "DRAINING" : "ACTIVE";
    await updateInstanceStatus(t.ctx, "feed", instanceId, { status });
  }
}

/** What a stream sends from `cursor` on, read to the end as the route reads it. */
async function drain(feed: EventFeed, cursor: number, filter: EventFilter = {}, limit = 3): Promise<{ ids: number[]; next: number }> {
  const ids: number[] = [];
  for (;;) {
    const r = await feed.read(cursor, filter, limit);
    ids.push(...r.events.map((e) => e.id));
    cursor = r.next;
    if (r.events.length < limit) return { ids, next: cursor };
  }
}

const logIds = async (after: number, filter: EventFilter = {}) => (await readEvents(t.ctx.db, after, filter, 1000)).map((e) => e.id);

test("streams behind the kept window and inside it get every event after their cursor once, in order; filters apply", async () => {
  const { feed, a, b } = await setUp({ capacity: 5 });
  const early = await latestEventId(t.ctx.db);
  closers.push(feed.open());
  await waitFor("the feed's first read", () => feed.logReads > 0);
  const seen = feed.version;
  await flip(a, 6);
  await flip(b, 6);
  await waitFor("the feed to read the 12 events", async () => feed.version > seen && (await drain(feed, early)).ids.length === 12);
  const head = await latestEventId(t.ctx.db);

  // From before everything the feed keeps (catching up from the log, then from memory), from inside the window, and filtered.
  expect((await drain(feed, 0)).ids).toEqual(await logIds(0));
  expect((await drain(feed, early)).ids).toEqual(await logIds(early));
  expect((await drain(feed, head - 2)).ids).toEqual([head - 1, head]);
  expect((await drain(feed, 0, { instance: a })).ids).toEqual(await logIds(0, { instance: a }));
  const onlyB = await drain(feed, early, { instance: b });
  expect(onlyB.ids).toEqual(await logIds(early, { instance: b }));
  expect(onlyB.ids).toHaveLength(6);
  // A stream of a quiet instance whose last event is older than the window moves on to the
  // newest id, so it reads from memory from then on instead of asking the log at every wake-up.
  const quiet = await drain(feed, early, { instance: a, service: "none" });
  expect(quiet).toEqual({ ids: [], next: head });
  const before = feed.logReads;
  expect((await drain(feed, quiet.next, { instance: a, service: "none" })).ids).toEqual([]);
  expect(feed.logReads).toBe(before);
  // What a stream sends is the envelope as the JSON API gives it.
  const [first] = (await feed.read(head - 1, {}, 1)).events;
  const json = (await t.request("GET", `/v1/events?after=${head - 1}&limit=1`)).body.events[0];
  expect(JSON.parse(first!.data)).toEqual(json);
});

test("one read of the log per wake-up, however many streams wait", async () => {
  const { feed, a } = await setUp();
  for (let i = 0; i < 10; i++) closers.push(feed.open());
  await waitFor("the feed's first read", () => feed.logReads > 0);
  const cursor = await latestEventId(t.ctx.db);
  const version = feed.version;
  const reads = feed.logReads;
  const waiting = Array.from({ length: 10 }, () => feed.changed(version, NEVER));
  await flip(a, 1);
  await Promise.all(waiting);
  const got = await Promise.all(Array.from({ length: 10 }, () => feed.read(cursor, {}, 500)));
  for (const g of got) expect(g.events.map((e) => e.id)).toEqual([cursor + 1]);
  // The ten streams were served from what the feed read once.
  expect(feed.logReads).toBe(reads + 1);
});

test("a read that finished while a stream was busy wakes it at once; closing a stream ends its wait", async () => {
  const { feed, a } = await setUp();
  closers.push(feed.open());
  await waitFor("the feed's first read", () => feed.logReads > 0);
  // The stream took the version, then was busy writing while the feed read something new.
  const version = feed.version;
  await flip(a, 1);
  await waitFor("the feed to read it", () => feed.version > version);
  // Waiting now on what it saw returns at once (it would otherwise wait forever).
  await feed.changed(version, NEVER);
  const abort = new AbortController();
  const waiting = feed.changed(feed.version, NEVER, abort.signal);
  abort.abort();
  await waiting;
});

test("appends the feed is not told of (another control process's) are found by polling", async () => {
  const { feed, a } = await setUp({ signal: false, pollMs: 20 });
  closers.push(feed.open());
  await waitFor("the feed's first read", () => feed.logReads > 0);
  const cursor = await latestEventId(t.ctx.db);
  const version = feed.version;
  await flip(a, 2);
  await feed.changed(version, NEVER);
  await waitFor("both events", async () => (await drain(feed, cursor)).ids.length === 2);
  expect((await drain(feed, cursor)).ids).toEqual(await logIds(cursor));
});

test("a feed whose streams all closed does not serve what it kept then: appends made meanwhile reach the next stream", async () => {
  const { feed, a } = await setUp();
  const close = feed.open();
  await waitFor("the feed's first read", () => feed.logReads > 0);
  const cursor = await latestEventId(t.ctx.db);
  await flip(a, 1);
  await waitFor("the feed to read it", async () => (await drain(feed, cursor)).ids.length === 1);
  close();
  // Nobody reads now; these are not in what the feed kept.
  await flip(a, 2);
  closers.push(feed.open());
  expect((await drain(feed, cursor)).ids).toEqual(await logIds(cursor));
  expect(await logIds(cursor)).toHaveLength(3);
});
