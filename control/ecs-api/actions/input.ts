import { z } from "zod";

/** Request members several ECS actions share. */

/** ECS's `cluster` member: a name or ARN; absent means the cluster called "default", as in ECS. */
export const clusterMember = z.string().min(1).optional();
export const clusterOf = (input: { cluster?: string }) => input.cluster ?? "default";

export const paging = { nextToken: z.string().optional(), maxResults: z.number().int().optional() };

/** `include` lists: ECS ignores members it has nothing for, so only the value set is checked. */
export const includeOf = <T extends readonly [string, ...string[]]>(values: T) => z.array(z.enum(values)).optional();
