import { eq } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { activations } from "../db/schema.ts";
import { hashSecret, secretMatches } from "../ids.ts";
import type { OpsContext } from "./context.ts";
import { requireCluster } from "./clusters.ts";
import { parseInput } from "./validate.ts";

export type ActivationRow = typeof activations.$inferSelect;

const createActivationInput = z.strictObject({
  registrationLimit: z.number().int().min(1).max(100_000).default(1),
  expiresInSeconds: z.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
  description: z.string().max(256).optional(),
});

export interface CreatedActivation {
  activationId: string;
  /** Shown once; only its hash is stored. */
  activationCode: string;
  registrationLimit: number;
  expiresAt: number;
}

export async function createActivation(ctx: OpsContext, cluster: string, input: unknown): Promise<CreatedActivation> {
  const parsed = parseInput(createActivationInput, input);
  const c = await requireCluster(ctx, cluster);
  const activationId = crypto.randomUUID();
  const activationCode = randomBytes(15).toString("base64url");
  const now = ctx.clock.now();
  const row: ActivationRow = {
    id: activationId,
    clusterName: c.name,
    codeHash: hashSecret(activationCode),
    registrationLimit: parsed.registrationLimit,
    registrationsCount: 0,
    expiresAt: now + parsed.expiresInSeconds * 1000,
    createdAt: now,
    revokedAt: null,
  };
  await ctx.db.insert(activations).values(row);
  return { activationId, activationCode, registrationLimit: row.registrationLimit, expiresAt: row.expiresAt };
}

export type ActivationCheck = { ok: true; row: ActivationRow } | { ok: false; reason: string };

/** Whether an activation id and code may register one more instance now. */
export async function checkActivation(ctx: OpsContext, id: string, code: string): Promise<ActivationCheck> {
  const row = await ctx.db.select().from(activations).where(eq(activations.id, id)).get();
  if (!row || !secretMatches(code, row.codeHash)) return { ok: false, reason: "activation id or code is wrong" };
  if (row.revokedAt !== null) return { ok: false, reason: "activation was revoked" };
  if (row.expiresAt <= ctx.clock.now()) return { ok: false, reason: "activation has expired" };
  if (row.registrationsCount >= row.registrationLimit) return { ok: false, reason: "activation registration limit reached" };
  return { ok: true, row };
}
