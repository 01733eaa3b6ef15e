import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import type { DesiredPrefetch, ReportedPrefetch } from "../../shared/messages.ts";
import { parseImageReference } from "../../shared/image-reference.ts";
import { imagePrefetches, type ImagePrefetchTarget } from "../db/schema.ts";
import { insertImagePrefetch, type ImagePrefetchRow } from "../services/image-prefetch-store.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { clientError, invalid, notFound, OpError } from "./errors.ts";
import { eligibleInstances } from "../scheduling/definition-placement.ts";
import { targetInstances } from "./instance-targets.ts";
import { resolveTaskDefinition } from "./task-definitions.ts";
import { parseInput } from "./validate.ts";

export type { ImagePrefetchRow };

/** Images per prefetch, and prefetches a host works on at once (the desired set's bound). */
export const MAX_PREFETCH_IMAGES = 100;
export const MAX_OPEN_PREFETCHES_PER_HOST = 100;

const createInput = z
  .object({
    /** family, family:revision or a task definition ARN: its containers' images. */
    taskDefinition: z.string().min(1).max(1600).optional(),
    images: z.array(z.string().min(1).max(512)).min(1).max(MAX_PREFETCH_IMAGES).optional(),
    /** Container instance ids or ARNs. */
    instances: z.array(z.string().min(1)).min(1).max(10_000).optional(),
    /** A cluster query language expression (as ListContainerInstances' filter). */
    filter: z.string().min(1).max(2048).optional(),
  })
  .strict()
  .refine((q) => (q.taskDefinition === undefined) !== (q.images === undefined), { path: ["images"], message: "give taskDefinition or images (one of them)" });

/**
 * Starts pulling images on some hosts ahead of need (issue 18, image delivery over poor links):
 * the images of a task definition, or a list, on the named instances or those a cluster query
 * language filter matches (the placement engine's evaluator, as ListContainerInstances). Each
 * host's agent finds the prefetch in its retained desired set and reports per-image progress.
 */
export async function createImagePrefetch(ctx: OpsContext, cluster: string, input: unknown): Promise<ImagePrefetchRow> {
  const q = parseInput(createInput, input);
  const c = await requireCluster(ctx, cluster);
  let images: string[];
  let taskDefinitionArn: string | null = null;
  let td: Awaited<ReturnType<typeof resolveTaskDefinition>> | undefined;
  if (q.taskDefinition !== undefined) {
    td = await resolveTaskDefinition(ctx, q.taskDefinition).catch((e) => {
      if (e instanceof OpError && e.kind === "not-found") throw clientError(e.message, [{ path: "taskDefinition", message: "no such task definition" }]);
      throw e;
    });
    taskDefinitionArn = td.arn;
    images = [...new Set(td.spec.containerDefinitions.map((cd) => cd.image))];
  } else {
    images = [...new Set(q.images!)];
    for (const [i, image] of q.images!.entries()) {
      if (!parseImageReference(image)) throw invalid(`images[${i}]: "${image}" is not an image reference`, [{ path: `images[${i}]`, message: "not an image reference" }]);
    }
  }
  let rows = await targetInstances(ctx, c.name, q);
  if (td) {
    // A task definition's images go only where its tasks could run (its memberOf constraints,
    // requiresAttributes, the images' CPU architecture): elsewhere they would be pulled for nothing.
    const eligible = new Set((await eligibleInstances(ctx, c.name, td)).map((v) => v.id));
    rows = rows.filter((r) => eligible.has(r.id));
    if (rows.length === 0) {
      throw clientError(`none of the container instances targeted can run ${td.arn} (its placement constraints, required attributes or CPU architecture)`, [
        { path: "taskDefinition", message: "no targeted container instance can run it" },
      ]);
    }
  }
  return insertImagePrefetch(ctx, c.name, images, rows.map((r) => r.id), taskDefinitionArn);
}


export async function describeImagePrefetch(ctx: OpsContext, cluster: string, id: string): Promise<ImagePrefetchRow> {
  const row = await ctx.db.select().from(imagePrefetches).where(and(eq(imagePrefetches.clusterName, cluster), eq(imagePrefetches.id, id))).get();
  if (!row) throw notFound("NotFound", `image prefetch ${id} not found in cluster ${cluster}`);
  return row;
}

export async function listImagePrefetches(ctx: OpsContext, cluster: string): Promise<ImagePrefetchRow[]> {
  await requireCluster(ctx, cluster);
  return ctx.db.select().from(imagePrefetches).where(eq(imagePrefetches.clusterName, cluster)).orderBy(desc(imagePrefetches.createdAt)).limit(100).all();
}

const open = (s: ImagePrefetchTarget["status"]) => s === "PENDING" || s === "PULLING";

/**
 * The prefetches each instance still has to work on, for its desired set (control/ops/desired.ts):
 * a host's entry leaves the set once it reported every image DONE or FAILED.
 */
export async function openPrefetchesByInstance(ctx: Pick<OpsContext, "db">, instanceIds: readonly string[]): Promise<Map<string, DesiredPrefetch[]>> {
  const wanted = new Set(instanceIds);
  const out = new Map<string, DesiredPrefetch[]>();
  const rows = await ctx.db.select().from(imagePrefetches).where(eq(imagePrefetches.status, "IN_PROGRESS")).orderBy(imagePrefetches.createdAt).all();
  for (const row of rows) {
    for (const t of row.targets) {
      if (!wanted.has(t.containerInstanceId) || !open(t.status)) continue;
      const list = out.get(t.containerInstanceId) ?? [];
      if (list.length < MAX_OPEN_PREFETCHES_PER_HOST) list.push({ prefetchId: row.id, images: row.images });
      out.set(t.containerInstanceId, list);
    }
  }
  return out;
}

const RANK = { PENDING: 0, PULLING: 1, DONE: 2, FAILED: 2 } as const;

/**
 * Applies the prefetch progress in an agent's report. Forward only (an image DONE or FAILED stays
 * so; a restarted agent reporting PENDING again changes nothing); a host whose every image ended
 * leaves the desired set, so its instance gets a new one. The row's JSON is read and written back
 * inside this process's serialize queue; with several control processes a lost update is repaired
 * by the agent itself, which keeps reporting the prefetch while its desired set still lists it
 * (every resync interval at the latest).
 */
export async function applyPrefetchReport(ctx: OpsContext, instanceId: string, reported: ReportedPrefetch[]): Promise<void> {
  let ended = false;
  await ctx.serialize(async () => {
    const now = ctx.clock.now();
    for (const p of reported) {
      const row = await ctx.db.select().from(imagePrefetches).where(eq(imagePrefetches.id, p.prefetchId)).get();
      if (!row || row.status !== "IN_PROGRESS") continue;
      const target = row.targets.find((t) => t.containerInstanceId === instanceId);
      if (!target || !open(target.status)) continue;
      let changed = false;
      for (const r of p.images) {
        const img = target.images.find((i) => i.image === r.image);
        if (!img || RANK[r.status] <= RANK[img.status]) continue;
        img.status = r.status;
        if (r.reason !== undefined) img.reason = r.reason;
        if (r.startedAt !== undefined) img.startedAt = r.startedAt;
        if (r.finishedAt !== undefined) img.finishedAt = r.finishedAt;
        changed = true;
      }
      if (!changed) continue;
      target.status = hostStatus(target);
      if (!open(target.status)) {
        target.finishedAt = now;
        ended = true;
      }
      const status = row.targets.some((t) => open(t.status)) ? "IN_PROGRESS" : row.targets.some((t) => t.status === "FAILED") ? "FAILED" : "SUCCESSFUL";
      await ctx.db.update(imagePrefetches).set({ targets: row.targets, status, updatedAt: now }).where(eq(imagePrefetches.id, row.id));
    }
  });
  if (ended) {
    ctx.desiredChanged(instanceId);
    // A deployment may be waiting for this prefetch (deploymentConfiguration.prefetch).
    ctx.servicesChanged?.();
  }
}

function hostStatus(t: ImagePrefetchTarget): ImagePrefetchTarget["status"] {
  const s = t.images.map((i) => i.status);
  if (s.some((x) => x === "PENDING" || x === "PULLING")) return s.some((x) => x !== "PENDING") ? "PULLING" : "PENDING";
  return s.includes("FAILED") ? "FAILED" : "DONE";
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The API's view of a prefetch: per host, per image, with ISO times. */
export function imagePrefetchView(row: ImagePrefetchRow) {
  const count = (s: string) => row.targets.filter((t) => t.status === s).length;
  return {
    id: row.id,
    clusterName: row.clusterName,
    ...(row.taskDefinitionArn ? { taskDefinitionArn: row.taskDefinitionArn } : {}),
    images: row.images,
    status: row.status,
    counts: { pending: count("PENDING"), pulling: count("PULLING"), done: count("DONE"), failed: count("FAILED") },
    instances: row.targets.map((t) => ({
      containerInstanceId: t.containerInstanceId,
      status: t.status,
      ...(t.finishedAt !== undefined ? { finishedAt: iso(t.finishedAt) } : {}),
      images: t.images.map((i) => ({
        image: i.image,
        status: i.status,
        ...(i.reason !== undefined ? { reason: i.reason } : {}),
        ...(i.startedAt !== undefined ? { startedAt: iso(i.startedAt) } : {}),
        ...(i.finishedAt !== undefined ? { finishedAt: iso(i.finishedAt) } : {}),
      })),
    })),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
