import type { OpsContext } from "../ops/context.ts";
import { fencedDb } from "./fenced-db.ts";
import type { Fence } from "./lease.ts";

/**
 * The leader's context: the same operations, every write of which proves the lease (`fence()`,
 * null when not leading) inside its own transaction. Drizzle writes go through the fenced view of
 * the database (fenced-db.ts); the placement's commit and release through the same placement store
 * as everyone else's, handed the fence explicitly (scheduling/placement-store.ts).
 */
export function fencedContext(ctx: OpsContext, fence: () => Fence | null): OpsContext {
  return { ...ctx, db: fencedDb(ctx.db, fence), placement: ctx.placement.fenced(fence) };
}
