import { sql } from "drizzle-orm";
import type { Db } from "../db/open.ts";

/** What a holder proves it still leads with: the row must still carry exactly these. */
export interface Fence {
  name: string;
  holder: string;
  token: number;
}

export interface Lease extends Fence {
  expiresAt: number;
}

/** The holder columns as the database has them now (null: nobody ever took the lease). */
export async function readLease(db: Db, name: string): Promise<Lease | null> {
  // (drizzle's db.get fails on an empty result with libSQL, hence all()[0].)
  const [row] = await db.all<{ name: string; holder: string; token: number; expires_at: number }>(
    sql`SELECT name, holder, token, expires_at FROM leases WHERE name = ${name}`,
  );
  return row ? { name: row.name, holder: row.holder, token: Number(row.token), expiresAt: Number(row.expires_at) } : null;
}

/**
 * Takes the lease when nobody holds it or the holding has expired, in one conditional statement,
 * so two contenders can never both succeed. Every acquisition raises the token (also a restart
 * of the same holder id: the old incarnation's fence must stop matching).
 */
export async function acquireLease(db: Db, name: string, holder: string, ttlMs: number, now: number): Promise<Lease | null> {
  const expiresAt = now + ttlMs;
  const rows = await db.all<{ token: number; expires_at: number }>(sql`
    INSERT INTO leases (name, holder, token, expires_at, acquired_at, renewed_at)
    VALUES (${name}, ${holder}, 1, ${expiresAt}, ${now}, ${now})
    ON CONFLICT (name) DO UPDATE SET
      holder = excluded.holder, token = leases.token + 1, expires_at = excluded.expires_at,
      acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at
    WHERE leases.expires_at <= ${now}
    RETURNING token, expires_at`);
  const row = rows[0];
  return row ? { name, holder, token: Number(row.token), expiresAt: Number(row.expires_at) } : null;
}

/**
 * Extends a holding that is still ours and not yet expired. After expiry it is refused even if
 * nobody took over: the holder must acquire again, which raises the token, so writes fenced with
 * the old token (maybe still queued somewhere) can never land after a gap in leadership.
 */
export async function renewLease(db: Db, fence: Fence, ttlMs: number, now: number): Promise<Lease | null> {
  const rows = await db.all<{ expires_at: number }>(sql`
    UPDATE leases SET expires_at = ${now + ttlMs}, renewed_at = ${now}
    WHERE name = ${fence.name} AND holder = ${fence.holder} AND token = ${fence.token} AND expires_at > ${now}
    RETURNING expires_at`);
  const row = rows[0];
  return row ? { ...fence, expiresAt: Number(row.expires_at) } : null;
}

/** Gives the lease up at once (graceful stop) so a follower need not wait for it to expire. */
export async function releaseLease(db: Db, fence: Fence): Promise<boolean> {
  const rows = await db.all<{ token: number }>(sql`
    UPDATE leases SET expires_at = 0
    WHERE name = ${fence.name} AND holder = ${fence.holder} AND token = ${fence.token}
    RETURNING token`);
  return rows.length > 0;
}
