import { and, eq, isNull } from "drizzle-orm";
import { apiTokens } from "../db/schema.ts";
import { hashSecret, newSecret } from "../ids.ts";
import type { OpsContext } from "./context.ts";

export type TokenRow = typeof apiTokens.$inferSelect;

const ADMIN_ID = "admin";

/**
 * Makes sure an admin token exists. A token given by the operator (FLOTILLA_ADMIN_TOKEN) replaces
 * the stored one; otherwise the first start creates one and returns it so it can be shown once.
 */
export async function ensureAdminToken(ctx: OpsContext, given?: string): Promise<{ created?: string }> {
  return ctx.serialize(async () => {
    const now = ctx.clock.now();
    if (given) {
      const row = { id: ADMIN_ID, name: "admin", role: "admin" as const, tokenHash: hashSecret(given), createdAt: now, revokedAt: null };
      await ctx.db.insert(apiTokens).values(row).onConflictDoUpdate({ target: apiTokens.id, set: { tokenHash: row.tokenHash, revokedAt: null } });
      return {};
    }
    const existing = await ctx.db.select().from(apiTokens).where(eq(apiTokens.id, ADMIN_ID)).get();
    if (existing) return {};
    const token = `flt_${newSecret()}`;
    await ctx.db.insert(apiTokens).values({ id: ADMIN_ID, name: "admin", role: "admin", tokenHash: hashSecret(token), createdAt: now });
    return { created: token };
  });
}

export async function findToken(ctx: OpsContext, token: string): Promise<TokenRow | undefined> {
  return ctx.db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, hashSecret(token)), isNull(apiTokens.revokedAt)))
    .get();
}
