import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { clusters } from "../../../control/db/schema.ts";
import { FencedOut, checkFence, fencedTransaction } from "../../../control/leader/fence.ts";
import { fencedDb } from "../../../control/leader/fenced-db.ts";
import { acquireLease, type Fence } from "../../../control/leader/lease.ts";
import { twoConnections } from "./two-dbs.ts";

let dbs: Awaited<ReturnType<typeof twoConnections>>;
beforeEach(async () => {
  dbs = await twoConnections();
});
afterEach(() => dbs.close());

/** Bun's rejects wants a real promise; drizzle queries are thenables. */
const refused = (q: PromiseLike<unknown>) => expect(Promise.resolve(q)).rejects.toBeInstanceOf(FencedOut);

const cluster = (name: string) => ({ name, arn: `arn:${name}`, status: "ACTIVE" as const, createdAt: 1, discoveryGeneration: 0 });

/** a held the lease with token 1; b took it over after expiry with token 2. */
async function takenOver(): Promise<{ old: Fence; current: Fence }> {
  const old = (await acquireLease(dbs.a.db, "L", "a", 1000, 0))!;
  const current = (await acquireLease(dbs.b.db, "L", "b", 1000, 1000))!;
  return { old, current };
}

describe("fencing", () => {
  test("fenced (leader-only) code cannot reach the raw libSQL client, which would write around the fence", async () => {
    const { current } = await takenOver();
    const leader = fencedDb(dbs.b.db, () => current) as unknown as { $client: unknown };
    expect(() => leader.$client).toThrow("not available to fenced");
  });

  test("checkFence passes for the holder and refuses a deposed one, inside a transaction", async () => {
    const { old, current } = await takenOver();
    await dbs.b.db.transaction((tx) => checkFence(tx, current));
    await expect(dbs.a.db.transaction((tx) => checkFence(tx, old))).rejects.toBeInstanceOf(FencedOut);
    await expect(checkFence(dbs.a.db, null)).rejects.toThrow("not the leader");
  });

  test("a deposed leader's transaction writes nothing", async () => {
    const { old, current } = await takenOver();
    await expect(fencedTransaction(dbs.a.db, old, (tx) => tx.insert(clusters).values(cluster("stale")))).rejects.toBeInstanceOf(FencedOut);
    await fencedTransaction(dbs.b.db, current, (tx) => tx.insert(clusters).values(cluster("fresh")));
    expect((await dbs.a.db.select().from(clusters).all()).map((c) => c.name)).toEqual(["fresh"]);
  });

  test("a fenced database lets reads through and refuses every kind of write once deposed", async () => {
    const { old, current } = await takenOver();
    await dbs.a.db.insert(clusters).values(cluster("c1"));
    const deposed = fencedDb(dbs.a.db, () => old);
    expect(await deposed.select().from(clusters).all()).toHaveLength(1);
    await refused(deposed.insert(clusters).values(cluster("x")));
    await refused(deposed.update(clusters).set({ status: "INACTIVE" }).where(eq(clusters.name, "c1")));
    await refused(deposed.delete(clusters).where(eq(clusters.name, "c1")).returning());
    await refused(deposed.transaction(async (tx) => tx.delete(clusters)));
    await refused(fencedDb(dbs.a.db, () => null).insert(clusters).values(cluster("y")).run());
    expect(await dbs.a.db.select().from(clusters).all()).toEqual([cluster("c1")]);

    // The current leader's writes go through, with the usual results.
    const leader = fencedDb(dbs.b.db, () => current);
    await leader.insert(clusters).values(cluster("c2"));
    const res = await leader.update(clusters).set({ status: "INACTIVE" }).where(eq(clusters.name, "c1"));
    expect(res.rowsAffected).toBe(1);
    const gone = await leader.delete(clusters).where(eq(clusters.name, "c2")).returning({ name: clusters.name });
    expect(gone).toEqual([{ name: "c2" }]);
    const got = await leader.insert(clusters).values(cluster("c3")).returning().get();
    expect(got).toEqual(cluster("c3"));
    expect(await leader.transaction(async (tx) => (await tx.select().from(clusters).all()).length)).toBe(2);
  });

  test("a takeover by another process waits for the old leader's open transaction; after it the old one is refused", async () => {
    const old = (await acquireLease(dbs.a.db, "L", "a", 1000, 0))!;
    // Another process is inside its fenced transaction (fence checked, row written) when its lease
    // expires. (In one process the busy wait would block the event loop, hence a child.)
    const child = Bun.spawn(["bun", "-e", HOLDER], { stdout: "pipe", stderr: "inherit", env: { ...process.env, DB_URL: dbs.url, FENCE: JSON.stringify(old) } });
    const reader = child.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("inside");
    const takeover = await acquireLease(dbs.b.db, "L", "b", 1000, 5000);
    expect(await child.exited).toBe(0);
    expect(takeover!.token).toBe(2);
    await expect(fencedTransaction(dbs.a.db, old, (tx) => tx.insert(clusters).values(cluster("after")))).rejects.toBeInstanceOf(FencedOut);
    expect((await dbs.b.db.select().from(clusters).all()).map((c) => c.name)).toEqual(["during"]);
  });
});

/** Child: opens the database, writes inside a fenced transaction and holds it open a while. */
const HOLDER = `
const { openDatabase } = await import(${JSON.stringify(new URL("../../../control/db/open.ts", import.meta.url).pathname)});
const { fencedTransaction } = await import(${JSON.stringify(new URL("../../../control/leader/fence.ts", import.meta.url).pathname)});
const { clusters } = await import(${JSON.stringify(new URL("../../../control/db/schema.ts", import.meta.url).pathname)});
const db = await openDatabase(process.env.DB_URL);
await fencedTransaction(db.db, JSON.parse(process.env.FENCE), async (tx) => {
  await tx.insert(clusters).values({ name: "during", arn: "arn:during", status: "ACTIVE", createdAt: 1 });
  console.log("inside");
  await Bun.sleep(300);
});
db.close();
`;
