import { and, eq, ne } from "drizzle-orm";
import { z } from "zod";
import { parseArn } from "../../shared/arn.ts";
import { containerInstances, services, taskDefinitions, tasks } from "../db/schema.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { deleteTags, readTags, tagKeysSchema, tagsOf as tagsOfArns, tagsSchema, writeTags, type Tag } from "./tag-store.ts";
import { parseInput } from "./validate.ts";

export type { Tag } from "./tag-store.ts";

/**
 * TagResource, UntagResource, ListTagsForResource over clusters, container instances, tasks,
 * services and task definitions. The resource must exist: tags are stored under its canonical ARN
 * (the one Flotilla returns), so `arn:aws:ecs:eu-west-1:…:service/c/s` and Flotilla's own form of
 * it name the same tags. Deleting a resource does not delete its tags (yet): a service created
 * again under the same name starts clean (ops/services.ts), other resources never reuse an ARN
 * except a cluster created again, which finds its old tags.
 */

const resourceArnField = z.string().min(1);
const tagResourceInput = z.strictObject({ resourceArn: resourceArnField, tags: tagsSchema });
const untagResourceInput = z.strictObject({ resourceArn: resourceArnField, tagKeys: tagKeysSchema });
const listTagsInput = z.strictObject({ resourceArn: resourceArnField });

/**
 * ECS answers a missing resource with ResourceNotFoundException in TagResource and UntagResource;
 * ListTagsForResource's model has no such exception, and it says InvalidParameterException.
 */
type MissingCode = "ResourceNotFoundException" | "InvalidParameterException";

const badArn = (message: string) => invalid(`resourceArn: ${message}`, [{ path: "resourceArn", message }]);

/** The canonical ARN of the existing resource `value` names, or ECS's refusal. */
export async function taggableResourceArn(ctx: OpsContext, value: string, missing: MissingCode): Promise<string> {
  const parsed = parseArn(value);
  if (!parsed) throw badArn(`"${value}" is not a valid ECS ARN`);
  const gone = (what: string) =>
    missing === "ResourceNotFoundException" ? notFound("ResourceNotFoundException", `${what} not found`) : invalid(`resourceArn: ${what} not found`, [{ path: "resourceArn", message: "not found" }]);
  switch (parsed.kind) {
    case "cluster":
      return (await requireCluster(ctx, parsed.name)).arn;
    case "task-definition": {
      const row = await ctx.db
        .select({ arn: taskDefinitions.arn })
        .from(taskDefinitions)
        .where(and(eq(taskDefinitions.family, parsed.family), eq(taskDefinitions.revision, parsed.revision)))
        .get();
      if (!row) throw gone(`task definition "${parsed.name}"`);
      return row.arn;
    }
    case "service": {
      // ECS: tagging needs the long service ARN (with the cluster); a short one is refused.
      if (!parsed.cluster) throw badArn("a service is tagged by its long ARN (service/cluster-name/service-name)");
      const c = await requireCluster(ctx, parsed.cluster);
      const row = await ctx.db
        .select({ arn: services.arn })
        .from(services)
        .where(and(eq(services.clusterName, c.name), eq(services.serviceName, parsed.name), ne(services.status, "INACTIVE")))
        .get();
      if (!row) throw gone(`service "${parsed.name}" in cluster "${c.name}"`);
      return row.arn;
    }
    case "task":
    case "container-instance": {
      // Both of ECS's forms: with the cluster (checked) and the older one without (ids are unique).
      const table = parsed.kind === "task" ? tasks : containerInstances;
      const cluster = parsed.cluster ? (await requireCluster(ctx, parsed.cluster)).name : undefined;
      const row = await ctx.db
        .select({ arn: table.arn, clusterName: table.clusterName })
        .from(table)
        .where(eq(table.id, parsed.name))
        .get();
      if (!row || (cluster !== undefined && row.clusterName !== cluster)) {
        throw gone(`${parsed.kind === "task" ? "task" : "container instance"} "${parsed.name}"${cluster ? ` in cluster "${cluster}"` : ""}`);
      }
      return row.arn;
    }
  }
}

/** TagResource: adds or overwrites the given tags; others stay. */
export async function tagResource(ctx: OpsContext, input: unknown): Promise<void> {
  const req = parseInput(tagResourceInput, input);
  const resourceArn = await taggableResourceArn(ctx, req.resourceArn, "ResourceNotFoundException");
  await ctx.serialize(() => ctx.db.transaction((tx) => writeTags(tx, resourceArn, req.tags)));
}

/** UntagResource: removes the given keys (unknown keys are no error). */
export async function untagResource(ctx: OpsContext, input: unknown): Promise<void> {
  const req = parseInput(untagResourceInput, input);
  const resourceArn = await taggableResourceArn(ctx, req.resourceArn, "ResourceNotFoundException");
  await ctx.serialize(() => deleteTags(ctx.db, resourceArn, req.tagKeys));
}

/** ListTagsForResource: every tag of the resource, by key. */
export async function listTagsForResource(ctx: OpsContext, input: unknown): Promise<Tag[]> {
  const req = parseInput(listTagsInput, input);
  return readTags(ctx.db, await taggableResourceArn(ctx, req.resourceArn, "InvalidParameterException"));
}

/** Tags of several resources at once, by canonical ARN (describe calls with `include: ["TAGS"]`). */
export async function tagsOf(ctx: OpsContext, resourceArns: string[]): Promise<Map<string, Tag[]>> {
  return tagsOfArns(ctx.db, resourceArns);
}
