import { z } from "zod";
import { invalid } from "../../ops/errors.ts";
import { parseInput } from "../../ops/validate.ts";

/**
 * Reading ECS request members that the operations do not take as they are: the cluster (ECS's
 * `default` when absent), lists of names or ARNs, `include`, and members of ECS's request shapes
 * that Flotilla has no counterpart for. Those are refused naming the member rather than ignored:
 * a caller who asks for a load balancer must not believe it has one.
 */

/** ECS: a request without `cluster` means the cluster named `default`. */
export function clusterOf(input: Record<string, unknown>): string {
  return parseInput(z.object({ cluster: z.string().min(1).optional() }), input).cluster ?? "default";
}

/** A required list of names or ARNs (`services`, `containerInstances`) of 1..max entries. */
export function namesOf(input: Record<string, unknown>, field: string, max: number): string[] {
  const schema = z.object({ [field]: z.array(z.string().min(1)).min(1, "must name at least one").max(max, `at most ${max}`) });
  return parseInput(schema, input)[field] as string[];
}

/** `include` of a describe call: which optional parts to add (`TAGS`, …). */
export function includeOf<T extends string>(input: Record<string, unknown>, allowed: readonly [T, ...T[]]): Set<T> {
  return new Set(parseInput(z.object({ include: z.array(z.enum(allowed)).optional() }), input).include ?? []);
}

/**
 * Members of ECS's request that Flotilla does not implement: absent, null, or ECS's own default
 * (`false`, an empty list, the value given here) pass; anything else is InvalidParameterException
 * naming the member. Returns the input without them, for the operation's strict schema.
 */
export function withoutUnsupported(input: Record<string, unknown>, unsupported: Record<string, unknown[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const refused: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (!(k in unsupported)) {
      out[k] = v;
      continue;
    }
    const harmless = v == null || v === false || (Array.isArray(v) && v.length === 0) || unsupported[k]!.some((d) => Bun.deepEquals(d, v));
    if (!harmless) refused.push(k);
  }
  if (refused.length) {
    throw invalid(refused.map((k) => `${k}: not supported by Flotilla`).join("; "), refused.map((path) => ({ path, message: "not supported by Flotilla" })));
  }
  return out;
}

/** Picks the named members that are present (the rest of an ECS request is the action's own). */
export function pick(input: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => input[k] !== undefined).map((k) => [k, input[k]]));
}

/** ListX's paging members, for an action's own schema (pagination.ts checks their values). */
export const pagingMembers = { nextToken: z.string().optional(), maxResults: z.number().int().optional() };

/** An `include` member for an action's own schema. */
export const includeMember = <T extends readonly [string, ...string[]]>(values: T) => z.array(z.enum(values)).optional();
