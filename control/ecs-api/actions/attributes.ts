import { z } from "zod";
import { deleteAttributes, listAttributes, putAttributes } from "../../ops/attributes.ts";
import { parseInput } from "../../ops/validate.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { clusterOf, pick, without } from "./fields.ts";

/**
 * PutAttributes, DeleteAttributes, ListAttributes over ops/attributes.ts: container instances are
 * the one target type ECS has. ListAttributes pages the attributes (ECS's default 100).
 */

/** ECS's ListAttributes requires targetType; the operation (shared with REST) lets it default. */
const listInput = z.object({ targetType: z.literal("container-instance") });

export const attributeActions: AwsJsonActions = {
  PutAttributes: {
    access: "write",
    async handle({ ctx, input }) {
      return { attributes: await putAttributes(ctx, clusterOf(input), without(input, "cluster")) };
    },
  },
  DeleteAttributes: {
    access: "write",
    async handle({ ctx, input }) {
      return { attributes: await deleteAttributes(ctx, clusterOf(input), without(input, "cluster")) };
    },
  },
  ListAttributes: {
    access: "read",
    async handle({ ctx, input }) {
      parseInput(listInput, input);
      const all = await listAttributes(ctx, clusterOf(input), pick(input, ["targetType", "attributeName", "attributeValue"]));
      const page = paginate(all, input);
      return { attributes: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    },
  },
};
