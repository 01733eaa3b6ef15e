import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import { webhookDeliveries, webhooks } from "../db/schema.ts";
import { latestEventId } from "../events/log.ts";
import { DETAIL_TYPES } from "../events/shapes.ts";
import { destinationRefusal } from "../events/webhook-options.ts";
import { newId, newSecret } from "../ids.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { parseInput } from "./validate.ts";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** At most this many hooks: each is a deliverer's worth of work. */
const MAX_WEBHOOKS = 100;

const createWebhookInput = z.strictObject({
  url: z.string().max(2048),
  /** detail-types to deliver ("ECS Task State Change", …); absent or empty = all. */
  detailTypes: z.array(z.enum(DETAIL_TYPES)).max(DETAIL_TYPES.length).default([]),
  /** Cluster names to deliver events of; absent or empty = all. */
  clusters: z.array(z.string().min(1).max(255)).max(100).default([]),
  /** HMAC key for X-Flotilla-Signature; one is made (and shown once) when not given. */
  secret: z.string().min(16).max(256).optional(),
});

export interface WebhookView {
  webhookId: string;
  url: string;
  detailTypes: string[];
  clusters: string[];
  status: WebhookRow["status"];
  statusReason?: string;
  /** The secret's last four characters: enough to tell which one it is, never the secret. */
  secretHint: string;
  createdAt: number;
}

export function webhookView(r: WebhookRow): WebhookView {
  return {
    webhookId: r.id,
    url: r.url,
    detailTypes: r.detailTypes,
    clusters: r.clusters,
    status: r.status,
    statusReason: r.statusReason ?? undefined,
    secretHint: r.secretHint,
    createdAt: r.createdAt,
  };
}

/**
 * Creates a webhook. It starts after the newest event in the log: a hook hears what happens from
 * now on. The URL must be http(s) and, when the control has an allow-list, name an allowed host.
 * A generated secret is returned once (`secret`); a given one is never echoed.
 */
export async function createWebhook(ctx: OpsContext, input: unknown, allowHosts?: string[]): Promise<{ webhook: WebhookView; secret?: string }> {
  const req = parseInput(createWebhookInput, input);
  const refusal = destinationRefusal(req.url, allowHosts);
  if (refusal) throw invalid(`url: ${refusal}`, [{ path: "url", message: refusal }]);
  const secret = req.secret ?? `whsec_${newSecret()}`;
  return ctx.serialize(async () => {
    const count = (await ctx.db.select({ id: webhooks.id }).from(webhooks).all()).length;
    if (count >= MAX_WEBHOOKS) throw invalid(`at most ${MAX_WEBHOOKS} webhooks`, [{ path: "url", message: `at most ${MAX_WEBHOOKS} webhooks` }]);
    const now = ctx.clock.now();
    const row: WebhookRow = {
      id: newId(),
      url: req.url,
      secret,
      secretHint: `…${secret.slice(-4)}`,
      detailTypes: req.detailTypes,
      clusters: req.clusters,
      status: "ENABLED",
      statusReason: null,
      cursor: await latestEventId(ctx.db),
      createdAt: now,
      updatedAt: now,
    };
    await ctx.db.insert(webhooks).values(row);
    return { webhook: webhookView(row), secret: req.secret === undefined ? secret : undefined };
  });
}

export async function listWebhooks(ctx: OpsContext): Promise<WebhookRow[]> {
  return ctx.db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id).all();
}

export async function requireWebhook(ctx: OpsContext, id: string): Promise<WebhookRow> {
  const row = await ctx.db.select().from(webhooks).where(eq(webhooks.id, id)).get();
  if (!row) throw notFound("ClientException", `webhook "${id}" not found`);
  return row;
}

/** Deletes a hook and its delivery log; a delivery in flight finds the hook gone and is not retried. */
export async function deleteWebhook(ctx: OpsContext, id: string): Promise<WebhookRow> {
  const row = await requireWebhook(ctx, id);
  await ctx.serialize(() =>
    ctx.db.transaction(async (tx) => {
      await tx.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
      await tx.delete(webhooks).where(eq(webhooks.id, id));
    }),
  );
  return row;
}

const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Paging: deliveries older than this id. */
  before: z.coerce.number().int().min(1).optional(),
});

export interface DeliveryView {
  deliveryId: number;
  eventId: number;
  status: DeliveryRow["status"];
  attempts: number;
  lastError?: string;
  responseStatus?: number;
  nextAttemptAt?: number;
  createdAt: number;
  updatedAt: number;
}

export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    deliveryId: d.id,
    eventId: d.eventId,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError ?? undefined,
    responseStatus: d.responseStatus ?? undefined,
    nextAttemptAt: d.status === "PENDING" ? d.nextAttemptAt : undefined,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** A hook's delivery log, newest first. */
export async function listDeliveries(ctx: OpsContext, id: string, query: unknown): Promise<DeliveryRow[]> {
  const q = parseInput(deliveriesQuery, query);
  await requireWebhook(ctx, id);
  const where = q.before ? and(eq(webhookDeliveries.webhookId, id), lt(webhookDeliveries.id, q.before)) : eq(webhookDeliveries.webhookId, id);
  return ctx.db.select().from(webhookDeliveries).where(where).orderBy(desc(webhookDeliveries.id)).limit(q.limit).all();
}
