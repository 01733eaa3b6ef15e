import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LeaderElector } from "../../../control/leader/elector.ts";
import { readLease } from "../../../control/leader/lease.ts";
import { fakeClock, twoConnections } from "./two-dbs.ts";

let dbs: Awaited<ReturnType<typeof twoConnections>>;
beforeEach(async () => {
  dbs = await twoConnections();
});
afterEach(() => dbs.close());

function electors(ttlMs = 3000) {
  const clock = fakeClock();
  const events: string[] = [];
  const make = (id: "a" | "b") =>
    new LeaderElector({
      db: (id === "a" ? dbs.a : dbs.b).db,
      holderId: id,
      ttlMs,
      clock,
      onElected: (f) => void events.push(`${id} elected ${f.token}`),
      onDeposed: (f) => void events.push(`${id} deposed ${f.token}`),
    });
  return { clock, events, a: make("a"), b: make("b") };
}

describe("LeaderElector", () => {
  test("one leads; renewing every ttl/3 keeps it leading while the other waits", async () => {
    const { clock, events, a, b } = electors();
    expect(await a.tick()).toBe(1000);
    await b.tick();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await a.tick();
      await b.tick();
    }
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(a.token).toBe(1);
    expect(b.token).toBeNull();
    expect(events).toEqual(["a elected 1"]);
  });

  test("when the leader stops renewing, the other takes over after expiry with a higher token", async () => {
    const { clock, events, a, b } = electors();
    await a.tick();
    clock.advance(2999);
    await b.tick();
    expect(b.isLeader()).toBe(false);
    // a's own view ends at its deadline even before it learns anything from the database.
    clock.advance(1);
    expect(a.isLeader()).toBe(false);
    expect(a.fence()).toBeNull();
    await b.tick();
    expect(b.isLeader()).toBe(true);
    expect(b.token).toBe(2);
    // a wakes up (say, after a long GC pause): its renewal is refused and it steps down.
    await a.tick();
    expect(a.isLeader()).toBe(false);
    expect(events).toEqual(["a elected 1", "b elected 2", "a deposed 1"]);
    expect(await readLease(dbs.a.db, "control-leader")).toMatchObject({ holder: "b", token: 2 });
  });

  test("a follower retries right after the holding would expire, not a full period later", async () => {
    const { clock, a, b } = electors(3000);
    await a.tick();
    clock.advance(2500);
    expect(await b.tick()).toBe(520);
  });

  test("stop releases the lease so the follower takes over without waiting for expiry", async () => {
    const { events, a, b } = electors(60_000);
    await a.tick();
    await a.stop();
    expect(a.isLeader()).toBe(false);
    await b.tick();
    expect(b.isLeader()).toBe(true);
    expect(events).toEqual(["a elected 1", "a deposed 1", "b elected 2"]);
  });

  test("a database failure deposes the leader once its deadline passes", async () => {
    const { clock, events, a } = electors(3000);
    await a.tick();
    dbs.a.close();
    clock.advance(1000);
    await a.tick();
    expect(a.isLeader()).toBe(true);
    clock.advance(2000);
    await a.tick();
    expect(a.isLeader()).toBe(false);
    expect(events).toEqual(["a elected 1", "a deposed 1"]);
  });

  test("the real loop elects within one period and hands over on stop", async () => {
    const a = new LeaderElector({ db: dbs.a.db, holderId: "a", ttlMs: 600 });
    const b = new LeaderElector({ db: dbs.b.db, holderId: "b", ttlMs: 600 });
    a.start();
    const { waitFor } = await import("../../helpers/wait.ts");
    await waitFor("a to lead", () => a.isLeader(), { timeoutMs: 3000, intervalMs: 10 });
    b.start();
    await a.stop();
    await waitFor("b to lead", () => b.isLeader(), { timeoutMs: 3000, intervalMs: 10 });
    expect(b.token).toBe(2);
    await b.stop();
  });
});
