import { sql } from "drizzle-orm";
import type { Db } from "../db/open.ts";
import type { Fence } from "./lease.ts";

/** A write was refused because the writer no longer holds the lease it wrote under. */
export class FencedOut extends Error {
  constructor(readonly fence: Fence | null) {
    super(fence ? `lease ${fence.name} is no longer held by ${fence.holder} with token ${fence.token}` : "not the leader");
  }
}

type Runner = Pick<Db, "all">;

/**
 * Checks the lease INSIDE a write transaction. SQLite (and sqld) run write transactions one at a
 * time and drizzle's libSQL transactions begin IMMEDIATE, so a takeover either committed before
 * this check (and the check fails) or waits until this transaction ends: the write and the
 * holding it was made under are one atomic step.
 */
export async function checkFence(tx: Runner, fence: Fence | null): Promise<void> {
  if (!fence) throw new FencedOut(null);
  const rows = await tx.all(sql`SELECT 1 AS ok FROM leases WHERE name = ${fence.name} AND holder = ${fence.holder} AND token = ${fence.token}`);
  if (rows.length === 0) throw new FencedOut(fence);
}

/** Runs fn in a write transaction that first proves the fence; throws FencedOut otherwise. */
export async function fencedTransaction<T>(db: Db, fence: Fence | null, fn: (tx: Parameters<Parameters<Db["transaction"]>[0]>[0]) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await checkFence(tx, fence);
    return fn(tx);
  });
}
