import { and, eq, gt, lte } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { activations } from "../db/schema.ts";
import { hashSecret, secretMatches } from "../ids.ts";
import type { OpsContext } from "./context.ts";
import { requireCluster } from "./clusters.ts";
import { notFound } from "./errors.ts";
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

/** What an activation records besides its code; `clusterName` null: any cluster the agent names. */
export interface ActivationFields {
  clusterName: string | null;
  registrationLimit: number;
  expiresAt: number;
  description?: string;
  defaultInstanceName?: string;
  iamRole?: string;
  tags?: { Key: string; Value: string }[];
}

/** The REST front door's CreateActivation: an activation bound to one cluster. */
export async function createActivation(ctx: OpsContext, cluster: string, input: unknown): Promise<CreatedActivation> {
  const parsed = parseInput(createActivationInput, input);
  const c = await requireCluster(ctx, cluster);
  return insertActivation(ctx, {
    clusterName: c.name,
    registrationLimit: parsed.registrationLimit,
    expiresAt: ctx.clock.now() + parsed.expiresInSeconds * 1000,
    description: parsed.description,
  });
}

/** Stores a new activation (callers have validated the fields) and returns its code, once. */
export async function insertActivation(ctx: OpsContext, fields: ActivationFields): Promise<CreatedActivation> {
  const activationId = crypto.randomUUID();
  // Hex, not base64url: a code starting with "-" would read as a flag on the agent's command line.
  const activationCode = randomBytes(16).toString("hex");
  const row: ActivationRow = {
    id: activationId,
    clusterName: fields.clusterName,
    codeHash: hashSecret(activationCode),
    registrationLimit: fields.registrationLimit,
    registrationsCount: 0,
    expiresAt: fields.expiresAt,
    createdAt: ctx.clock.now(),
    revokedAt: null,
    description: fields.description ?? null,
    defaultInstanceName: fields.defaultInstanceName ?? null,
    iamRole: fields.iamRole ?? null,
    tags: fields.tags ?? null,
  };
  await ctx.db.insert(activations).values(row);
  return { activationId, activationCode, registrationLimit: row.registrationLimit, expiresAt: row.expiresAt };
}

/**
 * The cluster a registration joins: the activation's, or (an activation for any cluster) the one
 * the agent names, else ECS's "default". A named cluster that is not the activation's is refused.
 */
export function registrationCluster(row: ActivationRow, requested: string | undefined): { ok: true; cluster: string } | { ok: false; reason: string } {
  if (row.clusterName === null) return { ok: true, cluster: requested ?? "default" };
  if (requested !== undefined && requested !== row.clusterName) {
    return { ok: false, reason: `activation ${row.id} is for cluster "${row.clusterName}", not "${requested}" (the agent's --cluster)` };
  }
  return { ok: true, cluster: row.clusterName };
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

/** What the API shows of an activation: never its code. */
export function activationView(r: ActivationRow, now: number) {
  const state =
    r.revokedAt !== null ? "REVOKED" : r.expiresAt <= now ? "EXPIRED" : r.registrationsCount >= r.registrationLimit ? "EXHAUSTED" : "ACTIVE";
  return {
    activationId: r.id,
    ...(r.clusterName !== null ? { clusterName: r.clusterName } : {}),
    status: state,
    registrationLimit: r.registrationLimit,
    registrationsCount: r.registrationsCount,
    expiresAt: new Date(r.expiresAt).toISOString(),
    createdAt: new Date(r.createdAt).toISOString(),
    ...(r.revokedAt !== null ? { revokedAt: new Date(r.revokedAt).toISOString() } : {}),
  };
}

export async function listActivations(ctx: OpsContext, cluster: string): Promise<ActivationRow[]> {
  const c = await requireCluster(ctx, cluster);
  return ctx.db.select().from(activations).where(eq(activations.clusterName, c.name)).orderBy(activations.createdAt).all();
}

/** Revokes an activation: no further registration with it (instances it registered stay). */
export async function revokeActivation(ctx: OpsContext, cluster: string, id: string): Promise<ActivationRow> {
  const c = await requireCluster(ctx, cluster);
  return ctx.serialize(async () => {
    const row = await ctx.db.select().from(activations).where(and(eq(activations.id, id), eq(activations.clusterName, c.name))).get();
    if (!row) throw notFound("InvalidParameterException", `activation "${id}" not found in cluster "${c.name}"`);
    if (row.revokedAt !== null) return row;
    const revokedAt = ctx.clock.now();
    await ctx.db.update(activations).set({ revokedAt }).where(eq(activations.id, id));
    return { ...row, revokedAt };
  });
}

/** Every activation, oldest first (SSM DescribeActivations names no cluster). */
export async function listAllActivations(ctx: OpsContext): Promise<ActivationRow[]> {
  return ctx.db.select().from(activations).orderBy(activations.createdAt, activations.id).all();
}

/**
 * SSM DeleteActivation: the activation can register no more instances (those it registered stay).
 * The row is kept, revoked, so a later registration attempt says why it fails.
 */
export async function deleteActivation(ctx: OpsContext, id: string): Promise<ActivationRow> {
  return ctx.serialize(async () => {
    const row = await ctx.db.select().from(activations).where(eq(activations.id, id)).get();
    if (!row || row.revokedAt !== null) throw notFound("InvalidActivationId", `Activation ID ${id} is not valid.`);
    const revokedAt = ctx.clock.now();
    await ctx.db.update(activations).set({ revokedAt }).where(eq(activations.id, id));
    return { ...row, revokedAt };
  });
}

/** Whether an activation can still register an instance (for broker clean-up; no code needed). */
export async function activationUsable(ctx: OpsContext, id: string): Promise<boolean> {
  const row = await ctx.db.select().from(activations).where(eq(activations.id, id)).get();
  return !!row && row.revokedAt === null && row.expiresAt > ctx.clock.now() && row.registrationsCount < row.registrationLimit;
}

/** Ids of activations that expired in (from, to]: their broker credentials can go. */
export async function activationsExpiredBetween(ctx: OpsContext, from: number, to: number): Promise<string[]> {
  const rows = await ctx.db
    .select({ id: activations.id })
    .from(activations)
    .where(and(gt(activations.expiresAt, from), lte(activations.expiresAt, to)))
    .all();
  return rows.map((r) => r.id);
}

/**
 * An external broker's side of activations (every front door that creates or revokes one calls it):
 * their credentials are made valid there, and invalid again.
 */
export interface BrokerProvisioning {
  /** An activation was created: make its credentials valid on the broker. */
  activationCreated(activationId: string, code: string): Promise<void>;
  /** An activation was revoked: its credentials stop working on the broker. */
  activationGone(activationId: string): Promise<void>;
}
