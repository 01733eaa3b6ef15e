import { and, eq, ne, count } from "drizzle-orm";
import { z } from "zod";
import { arn } from "../../shared/arn.ts";
import type { ClusterRow } from "../db/rows.ts";
import { clusters, containerInstances, services, tasks } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { conflict, notFound } from "./errors.ts";
import { resourceName } from "./references.ts";
import { clearTags, tagsSchema, writeTags } from "./tag-store.ts";
import { parseInput } from "./validate.ts";

const createClusterInput = z.strictObject({
  clusterName: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "must be 1-255 letters, digits, hyphens or underscores"),
  tags: tagsSchema.optional(),
});

export async function createCluster(ctx: OpsContext, input: unknown): Promise<{ row: ClusterRow; created: boolean }> {
  const { clusterName, tags } = parseInput(createClusterInput, input);
  return ctx.serialize(async () => {
    const existing = await ctx.db.select().from(clusters).where(eq(clusters.name, clusterName)).get();
    // As in ECS, creating an existing ACTIVE cluster returns it unchanged.
    if (existing?.status === "ACTIVE") return { row: existing, created: false };
    const row: ClusterRow = { name: clusterName, arn: arn.cluster(clusterName), status: "ACTIVE", createdAt: ctx.clock.now(), discoveryGeneration: existing?.discoveryGeneration ?? 0 };
    await ctx.db.transaction(async (tx) => {
      await tx.insert(clusters).values(row).onConflictDoUpdate({ target: clusters.name, set: row });
      // A deleted cluster created again is a new resource: its old tags go.
      if (existing) await clearTags(tx, row.arn);
      await writeTags(tx, row.arn, tags ?? []);
    });
    return { row, created: true };
  });
}

export async function listClusters(ctx: OpsContext): Promise<ClusterRow[]> {
  return ctx.db.select().from(clusters).where(eq(clusters.status, "ACTIVE")).orderBy(clusters.name).all();
}

/** Resolves a cluster name or ARN to its ACTIVE row, or throws ClusterNotFoundException. */
export async function requireCluster(ctx: OpsContext, nameOrArn: string): Promise<ClusterRow> {
  const name = resourceName("cluster", "cluster", nameOrArn);
  const row = await ctx.db.select().from(clusters).where(eq(clusters.name, name)).get();
  if (!row || row.status !== "ACTIVE") throw notFound("ClusterNotFoundException", `cluster "${name}" not found`);
  return row;
}

export type ClusterCounts = Awaited<ReturnType<typeof clusterCounts>>;

/** ECS's cluster counts (DescribeClusters); draining services are counted apart, as ECS does not show them. */
export async function clusterCounts(ctx: OpsContext, name: string) {
  const [inst] = await ctx.db
    .select({ n: count() })
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, name), ne(containerInstances.status, "INACTIVE")));
  const [running] = await ctx.db
    .select({ n: count() })
    .from(tasks)
    .where(and(eq(tasks.clusterName, name), eq(tasks.lastStatus, "RUNNING")));
  const [pending] = await ctx.db
    .select({ n: count() })
    .from(tasks)
    .where(and(eq(tasks.clusterName, name), ne(tasks.lastStatus, "RUNNING"), ne(tasks.lastStatus, "STOPPED")));
  const [active] = await ctx.db
    .select({ n: count() })
    .from(services)
    .where(and(eq(services.clusterName, name), eq(services.status, "ACTIVE")));
  // A DRAINING service (being deleted) still holds the cluster, as in ECS.
  const [draining] = await ctx.db
    .select({ n: count() })
    .from(services)
    .where(and(eq(services.clusterName, name), eq(services.status, "DRAINING")));
  return {
    registeredContainerInstancesCount: inst?.n ?? 0,
    runningTasksCount: running?.n ?? 0,
    pendingTasksCount: pending?.n ?? 0,
    activeServicesCount: active?.n ?? 0,
    drainingServicesCount: draining?.n ?? 0,
  };
}

export async function deleteCluster(ctx: OpsContext, nameOrArn: string): Promise<ClusterRow> {
  return ctx.serialize(async () => {
    const row = await requireCluster(ctx, nameOrArn);
    const counts = await clusterCounts(ctx, row.name);
    // Services, then tasks, then instances: the first refusal names what to remove first (a
    // service replaces its tasks, and stopping the tasks frees the instances).
    if (counts.activeServicesCount + counts.drainingServicesCount > 0)
      throw conflict("ClusterContainsServicesException", `cluster "${row.name}" still has services; scale them to 0 and delete them first`);
    if (counts.runningTasksCount + counts.pendingTasksCount > 0)
      throw conflict("ClusterContainsTasksException", `cluster "${row.name}" still has tasks that are not stopped`);
    if (counts.registeredContainerInstancesCount > 0)
      throw conflict("ClusterContainsContainerInstancesException", `cluster "${row.name}" still has registered container instances`);
    await ctx.db.update(clusters).set({ status: "INACTIVE" }).where(eq(clusters.name, row.name));
    return { ...row, status: "INACTIVE" as const };
  });
}
