import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { apiTokens } from "../db/schema.ts";
import { hashSecret, newId, newSecret } from "../ids.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { parseInput } from "./validate.ts";

export type TokenRow = typeof apiTokens.$inferSelect;
export type TokenRole = TokenRow["role"];
/** `metrics`: a scraper's token, which may only read GET /metrics (docs/metrics.md). */
export const TOKEN_ROLES = ["admin", "operator", "read-only", "metrics"] as const satisfies readonly TokenRole[];
/** Access keys sign AWS JSON calls, which a metrics token may not make: the people's roles only. */
export const ACCESS_KEY_ROLES = ["admin", "operator", "read-only"] as const satisfies readonly TokenRole[];

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

/** A token by its id, unless revoked: the console's sessions re-check their token with it. */
export async function findTokenById(ctx: OpsContext, id: string): Promise<TokenRow | undefined> {
  return ctx.db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .get();
}

const createTokenInput = z.strictObject({
  name: z.string().trim().min(1).max(128).regex(/^[\w.@ -]+$/, "letters, digits, spaces and _ . @ - only"),
  role: z.enum(TOKEN_ROLES),
});

export interface TokenView {
  tokenId: string;
  name: string;
  role: TokenRole;
  createdAt: string;
  revokedAt?: string;
}

export function tokenView(r: TokenRow): TokenView {
  return {
    tokenId: r.id,
    name: r.name,
    role: r.role,
    createdAt: new Date(r.createdAt).toISOString(),
    ...(r.revokedAt !== null ? { revokedAt: new Date(r.revokedAt).toISOString() } : {}),
  };
}

/** Creates a token; the secret is returned here once and only its hash is kept. */
export async function createToken(ctx: OpsContext, input: unknown): Promise<TokenView & { token: string }> {
  const { name, role } = parseInput(createTokenInput, input);
  const token = `flt_${newSecret()}`;
  const row: TokenRow = { id: newId(), name, role, tokenHash: hashSecret(token), createdAt: ctx.clock.now(), revokedAt: null };
  await ctx.serialize(() => ctx.db.insert(apiTokens).values(row));
  return { ...tokenView(row), token };
}

export async function listTokens(ctx: OpsContext): Promise<TokenRow[]> {
  return ctx.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt)).all();
}

/** Revokes a token: every later request with it gets 401 (tokens are checked per request). */
export async function revokeToken(ctx: OpsContext, id: string, callerTokenId?: string): Promise<TokenRow> {
  return ctx.serialize(async () => {
    const row = await ctx.db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
    if (!row) throw notFound("ResourceNotFoundException", `token "${id}" not found`);
    if (id === callerTokenId) throw invalid("a token cannot revoke itself; use another admin token", [{ path: "tokenId", message: "is the caller's own token" }]);
    if (row.revokedAt !== null) return row;
    const revokedAt = ctx.clock.now();
    await ctx.db.update(apiTokens).set({ revokedAt }).where(eq(apiTokens.id, id));
    return { ...row, revokedAt };
  });
}

/** Who made a request, as every front door (REST, the AWS JSON door, the console) authenticates it. */
export interface Caller {
  tokenId: string;
  name: string;
  role: TokenRole;
}
