import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/open.ts";
import { tags } from "../db/schema.ts";
import { invalid } from "./errors.ts";

/**
 * The tags table and ECS's rules for it, without knowing what a resource is: CreateService and
 * other creating operations write a new resource's tags in their own transaction through these,
 * and ops/tags.ts (TagResource and friends) adds the lookup of the resource an ARN names. Keeping
 * the two apart lets the creating operations use the rules without an import cycle.
 */

/** ECS's limit: tags per resource. */
export const MAX_TAGS = 50;

/** ECS's TagKey/TagValue pattern: letters, separators (spaces), numbers and `_.:/=+-@`. */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const CHARS_MESSAGE = "may contain only letters, numbers, spaces and _.:/=+-@";
/** `aws:` in any case is reserved for AWS's own tags, as a prefix of a key or a value. */
const reserved = (s: string) => s.toLowerCase().startsWith("aws:");

const tagKey = z
  .string()
  .min(1, "must be 1-128 characters")
  .max(128, "must be 1-128 characters")
  .regex(TAG_CHARS, CHARS_MESSAGE)
  .refine((k) => !reserved(k), "the aws: prefix is reserved");

const tagValue = z
  .string()
  .max(256, "must be at most 256 characters")
  .regex(TAG_CHARS, CHARS_MESSAGE)
  .refine((v) => !reserved(v), "the aws: prefix is reserved");

export const tagSchema = z.strictObject({ key: tagKey, value: tagValue.optional() });

/** A request's `tags` list: at most 50, each key once. */
export const tagsSchema = z
  .array(tagSchema)
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags per resource`)
  .superRefine((list, c) => {
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t.key)) c.addIssue({ code: "custom", path: [i, "key"], message: `duplicate tag key "${t.key}"` });
      seen.add(t.key);
    });
  });

export const tagKeysSchema = z.array(tagKey).max(MAX_TAGS, `at most ${MAX_TAGS} keys`);

export interface Tag {
  key: string;
  value: string;
}

/** The database, or a transaction of it: creating operations write tags inside their own. */
type DbOrTx = Db | Parameters<Parameters<Db["transaction"]>[0]>[0];

/** The tags of one resource, by key. */
export async function readTags(db: DbOrTx, resourceArn: string): Promise<Tag[]> {
  return db.select({ key: tags.key, value: tags.value }).from(tags).where(eq(tags.resourceArn, resourceArn)).orderBy(tags.key).all();
}

/**
 * Adds or overwrites tags (keys not given stay, as in ECS). The 50-tag limit counts the result:
 * overwriting a key of a resource already at 50 is allowed, a 51st key is not. Run inside the
 * caller's serialized section so the count and the write see the same rows.
 */
export async function writeTags(db: DbOrTx, resourceArn: string, given: z.infer<typeof tagSchema>[]): Promise<void> {
  if (given.length === 0) return;
  const current = await readTags(db, resourceArn);
  const keys = new Set([...current.map((t) => t.key), ...given.map((t) => t.key)]);
  if (keys.size > MAX_TAGS) {
    throw invalid(`tags: a resource may have at most ${MAX_TAGS} tags (it has ${current.length}; this request would make ${keys.size})`, [
      { path: "tags", message: `at most ${MAX_TAGS} tags per resource` },
    ]);
  }
  for (const t of given) {
    const value = t.value ?? "";
    await db.insert(tags).values({ resourceArn, key: t.key, value }).onConflictDoUpdate({ target: [tags.resourceArn, tags.key], set: { value } });
  }
}

/** Removes the given keys; keys the resource does not have are ignored, as in ECS. */
export async function deleteTags(db: DbOrTx, resourceArn: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.delete(tags).where(and(eq(tags.resourceArn, resourceArn), inArray(tags.key, keys)));
}

/** Removes every tag of a resource (a resource created again under its old ARN starts clean). */
export async function clearTags(db: DbOrTx, resourceArn: string): Promise<void> {
  await db.delete(tags).where(eq(tags.resourceArn, resourceArn));
}

/** Tags of several resources at once (DescribeServices and friends with `include: ["TAGS"]`). */
export async function tagsOf(db: DbOrTx, resourceArns: string[]): Promise<Map<string, Tag[]>> {
  const out = new Map<string, Tag[]>(resourceArns.map((a) => [a, []]));
  if (resourceArns.length === 0) return out;
  const rows = await db.select().from(tags).where(inArray(tags.resourceArn, [...new Set(resourceArns)])).orderBy(tags.resourceArn, tags.key).all();
  for (const r of rows) out.get(r.resourceArn)?.push({ key: r.key, value: r.value });
  return out;
}
