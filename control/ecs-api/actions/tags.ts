import { listTagsForResource, tagResource, untagResource } from "../../ops/tags.ts";
import type { AwsJsonActions } from "../action.ts";

/** TagResource, UntagResource, ListTagsForResource: ECS's request shapes are the operations' own. */
export const tagActions: AwsJsonActions = {
  TagResource: {
    access: "write",
    async handle({ ctx, input }) {
      await tagResource(ctx, input);
      return {};
    },
  },
  UntagResource: {
    access: "write",
    async handle({ ctx, input }) {
      await untagResource(ctx, input);
      return {};
    },
  },
  ListTagsForResource: {
    access: "read",
    async handle({ ctx, input }) {
      return { tags: await listTagsForResource(ctx, input) };
    },
  },
};
