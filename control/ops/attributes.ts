import { and, eq, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { containerInstances } from "../db/schema.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid, OpError } from "./errors.ts";
import { resourceName } from "./references.ts";
import { parseInput } from "./validate.ts";
import { storedPullLimits } from "./pull-limits.ts";
import { MAX_PULL_LIMIT, MIN_PULL_BANDWIDTH, parsePullBandwidth, parsePullLimit, PULL_BANDWIDTH_ATTRIBUTE, PULL_LIMIT_ATTRIBUTE } from "../../shared/pull-limit.ts";

/** ECS attribute names: letters, digits, and `-_./@` up to 128 characters. */
const attributeName = z.string().regex(/^[A-Za-z0-9_./@-]{1,128}$/, "must be 1-128 letters, digits, hyphens, underscores, periods, at signs or slashes");

const attribute = z.strictObject({
  name: attributeName,
  value: z.string().regex(/^[A-Za-z0-9_.@:/ -]{1,128}$/, "must be 1-128 letters, digits, spaces or -_.@:/").optional(),
  targetType: z.literal("container-instance").optional(),
  targetId: z.string().min(1),
});
export type Attribute = z.infer<typeof attribute>;

const attributesInput = z.strictObject({ attributes: z.array(attribute).min(1).max(10) });

function instanceIdOf(targetId: string, field: string): string {
  return resourceName("container-instance", field, targetId);
}

/** Reads every target first so that one unknown target fails the whole call with nothing written. */
async function targets(ctx: OpsContext, clusterName: string, attrs: Attribute[]) {
  const rows = new Map<string, typeof containerInstances.$inferSelect>();
  for (const [i, a] of attrs.entries()) {
    const id = instanceIdOf(a.targetId, `attributes[${i}].targetId`);
    if (rows.has(id)) continue;
    const row = await ctx.db
      .select()
      .from(containerInstances)
      .where(and(eq(containerInstances.id, id), eq(containerInstances.clusterName, clusterName), ne(containerInstances.status, "INACTIVE")))
      .get();
    if (!row) {
      // ECS's TargetNotFoundException; still a 400 on REST, naming the field.
      throw new OpError("invalid", "TargetNotFoundException", `attributes[${i}].targetId: no container instance "${id}" in cluster "${clusterName}"`, [
        { path: `attributes[${i}].targetId`, message: `no container instance "${id}" in cluster "${clusterName}"` },
      ]);
    }
    rows.set(id, row);
  }
  return rows;
}

/**
 * Applies `change` to each target's attributes and writes them back in one transaction; bumps
 * versions so a placement computed on the old attributes cannot commit.
 */
async function rewriteAttributes(
  ctx: OpsContext,
  cluster: string,
  input: unknown,
  change: (current: Record<string, string>, a: Attribute) => Record<string, string>,
  { limitCustom = false } = {},
): Promise<Attribute[]> {
  const { attributes } = parseInput(attributesInput, input);
  for (const [i, a] of attributes.entries()) {
    // A put (limitCustom) sets a value; a delete only names the attribute.
    if (limitCustom && a.name === PULL_LIMIT_ATTRIBUTE && parsePullLimit(a.value ?? undefined) === undefined) {
      throw invalid(`attributes[${i}].value: ${PULL_LIMIT_ATTRIBUTE} must be a whole number from 1 to ${MAX_PULL_LIMIT}`, [
        { path: `attributes[${i}].value`, message: `must be a whole number from 1 to ${MAX_PULL_LIMIT}` },
      ]);
    }
    if (limitCustom && a.name === PULL_BANDWIDTH_ATTRIBUTE && parsePullBandwidth(a.value ?? undefined) === undefined) {
      throw invalid(`attributes[${i}].value: ${PULL_BANDWIDTH_ATTRIBUTE} must be a whole number of bytes per second, at least ${MIN_PULL_BANDWIDTH}`, [
        { path: `attributes[${i}].value`, message: `must be a whole number of bytes per second, at least ${MIN_PULL_BANDWIDTH}` },
      ]);
    }
  }
  const c = await requireCluster(ctx, cluster);
  const changed: string[] = [];
  const result = await ctx.serialize(async () => {
    const rows = await targets(ctx, c.name, attributes);
    for (const [i, a] of attributes.entries()) {
      const row = rows.get(instanceIdOf(a.targetId, `attributes[${i}].targetId`))!;
      row.attributes = change(row.attributes, a);
    }
    if (limitCustom) {
      for (const row of rows.values()) {
        const custom = customAttributeNames(row);
        if (custom.length > MAX_CUSTOM_ATTRIBUTES) {
          throw new OpError(
            "invalid",
            "AttributeLimitExceededException",
            `container instance "${row.id}" would have ${custom.length} custom attributes; ECS allows ${MAX_CUSTOM_ATTRIBUTES}`,
            [{ path: "attributes", message: `at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes per container instance` }],
          );
        }
      }
    }
    await ctx.db.transaction(async (tx) => {
      for (const row of rows.values()) {
        await tx
          .update(containerInstances)
          .set({ attributes: row.attributes, version: sql`${containerInstances.version} + 1` })
          .where(eq(containerInstances.id, row.id));
      }
    });
    for (const id of rows.keys()) ctx.indexes.instanceChanged(id);
    // A change of any attribute may move a host in or out of a pull-limits rule's filter.
    if (attributes.some((a) => a.name === PULL_LIMIT_ATTRIBUTE || a.name === PULL_BANDWIDTH_ATTRIBUTE) || (await storedPullLimits(ctx, c.name)).rules.length > 0) changed.push(...rows.keys());
    return attributes.map((a) => ({ ...a, targetType: "container-instance" as const }));
  });
  // The pull limits travel in the desired set: its hosts get a new one.
  for (const id of changed) ctx.desiredChanged(id);
  return result;
}

/** ECS's limit of custom attributes per resource (AttributeLimitExceededException above it). */
export const MAX_CUSTOM_ATTRIBUTES = 10;

/**
 * Custom attributes: set through the API, not the agent's (automatic ones and its --attribute
 * flags, `agentAttributeNames`) nor the `ecs.` ones the control adds.
 */
function customAttributeNames(row: Pick<typeof containerInstances.$inferSelect, "attributes" | "agentAttributeNames">): string[] {
  const agent = new Set(row.agentAttributeNames ?? []);
  return Object.keys(row.attributes).filter((n) => !agent.has(n) && !n.startsWith("ecs."));
}

/**
 * PutAttributes: sets custom attributes on container instances (at most 10 each, as in ECS);
 * changes placement at once.
 */
export function putAttributes(ctx: OpsContext, cluster: string, input: unknown): Promise<Attribute[]> {
  return rewriteAttributes(ctx, cluster, input, (current, a) => ({ ...current, [a.name]: a.value ?? "" }), { limitCustom: true });
}

/** DeleteAttributes. */
export function deleteAttributes(ctx: OpsContext, cluster: string, input: unknown): Promise<Attribute[]> {
  return rewriteAttributes(ctx, cluster, input, (current, a) => {
    const { [a.name]: _removed, ...rest } = current;
    return rest;
  });
}

const listQuery = z
  .object({
    attributeName: attributeName.optional(),
    attributeValue: z.string().optional(),
    targetType: z.literal("container-instance").optional(),
  })
  // ECS: a value filter needs the name it is the value of.
  .refine((q) => q.attributeValue === undefined || q.attributeName !== undefined, { path: ["attributeValue"], message: "requires attributeName" });

/** ListAttributes: every attribute of every live instance, optionally filtered by name and value. */
export async function listAttributes(ctx: OpsContext, cluster: string, query: unknown): Promise<Attribute[]> {
  const q = parseInput(listQuery, query);
  const c = await requireCluster(ctx, cluster);
  const rows = await ctx.db
    .select({ id: containerInstances.id, arn: containerInstances.arn, attributes: containerInstances.attributes })
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, c.name), ne(containerInstances.status, "INACTIVE")))
    // A stable order: ECS's ListAttributes pages over it.
    .orderBy(containerInstances.registeredAt, containerInstances.id)
    .all();
  const out: Attribute[] = [];
  for (const r of rows) {
    for (const [name, value] of Object.entries(r.attributes)) {
      if (q.attributeName && name !== q.attributeName) continue;
      if (q.attributeValue !== undefined && value !== q.attributeValue) continue;
      out.push({ name, value, targetType: "container-instance", targetId: r.arn });
    }
  }
  return out;
}
