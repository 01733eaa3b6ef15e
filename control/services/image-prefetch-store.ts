import { eq } from "drizzle-orm";
import { imagePrefetches } from "../db/schema.ts";
import { newId } from "../ids.ts";
import type { OpsContext } from "../scheduling/context.ts";

export type ImagePrefetchRow = typeof imagePrefetches.$inferSelect;

/**
 * Stores a new prefetch (every host PENDING) and tells each host's desired set: the one write
 * both POST image-prefetch and a service deployment with deploymentConfiguration.prefetch use.
 */
export async function insertImagePrefetch(ctx: OpsContext, clusterName: string, images: string[], instanceIds: string[], taskDefinitionArn: string | null): Promise<ImagePrefetchRow> {
  const now = ctx.clock.now();
  const row: ImagePrefetchRow = {
    id: newId(),
    clusterName,
    taskDefinitionArn,
    images,
    status: "IN_PROGRESS",
    targets: instanceIds.map((id) => ({ containerInstanceId: id, status: "PENDING" as const, images: images.map((image) => ({ image, status: "PENDING" as const })) })),
    createdAt: now,
    updatedAt: now,
  };
  await ctx.serialize(() => ctx.db.insert(imagePrefetches).values(row));
  for (const id of instanceIds) ctx.desiredChanged(id);
  return row;
}

export async function imagePrefetchStatus(ctx: OpsContext, id: string): Promise<ImagePrefetchRow["status"] | undefined> {
  return (await ctx.db.select({ status: imagePrefetches.status }).from(imagePrefetches).where(eq(imagePrefetches.id, id)).get())?.status;
}
