import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { acquireLease, readLease, releaseLease, renewLease } from "../../../control/leader/lease.ts";
import { twoConnections } from "./two-dbs.ts";

let dbs: Awaited<ReturnType<typeof twoConnections>>;
beforeEach(async () => {
  dbs = await twoConnections();
});
afterEach(() => dbs.close());

describe("lease", () => {
  test("the first contender gets token 1; a second cannot take an unexpired lease", async () => {
    const a = await acquireLease(dbs.a.db, "L", "a", 1000, 100);
    expect(a).toEqual({ name: "L", holder: "a", token: 1, expiresAt: 1100 });
    expect(await acquireLease(dbs.b.db, "L", "b", 1000, 1099)).toBeNull();
    expect(await readLease(dbs.b.db, "L")).toEqual({ name: "L", holder: "a", token: 1, expiresAt: 1100 });
  });

  test("after expiry another takes over and the token rises", async () => {
    await acquireLease(dbs.a.db, "L", "a", 1000, 100);
    const b = await acquireLease(dbs.b.db, "L", "b", 1000, 1100);
    expect(b).toEqual({ name: "L", holder: "b", token: 2, expiresAt: 2100 });
    // The old holder can no longer renew: holder and token no longer match.
    expect(await renewLease(dbs.a.db, { name: "L", holder: "a", token: 1 }, 1000, 1200)).toBeNull();
  });

  test("renewal keeps the lease and its token; a late renewal is refused even if nobody took over", async () => {
    const a = (await acquireLease(dbs.a.db, "L", "a", 1000, 0))!;
    expect(await renewLease(dbs.a.db, a, 1000, 900)).toEqual({ ...a, expiresAt: 1900 });
    expect(await acquireLease(dbs.b.db, "L", "b", 1000, 1800)).toBeNull();
    expect(await renewLease(dbs.a.db, a, 1000, 1900)).toBeNull();
    // Re-acquiring (even by the same holder) gives a new token, so old fenced writes stay refused.
    expect((await acquireLease(dbs.a.db, "L", "a", 1000, 1900))!.token).toBe(2);
  });

  test("release lets a follower take over at once; only the holder can release", async () => {
    const a = (await acquireLease(dbs.a.db, "L", "a", 10_000, 0))!;
    expect(await releaseLease(dbs.b.db, { ...a, holder: "b" })).toBe(false);
    expect(await releaseLease(dbs.a.db, a)).toBe(true);
    expect(await acquireLease(dbs.b.db, "L", "b", 10_000, 1)).toEqual({ name: "L", holder: "b", token: 2, expiresAt: 10_001 });
  });

  test("of many simultaneous contenders exactly one wins", async () => {
    const tries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => acquireLease(i % 2 ? dbs.a.db : dbs.b.db, "L", `h${i}`, 1000, 0)),
    );
    expect(tries.filter(Boolean)).toHaveLength(1);
    expect((await readLease(dbs.a.db, "L"))!.token).toBe(1);
  });
});
