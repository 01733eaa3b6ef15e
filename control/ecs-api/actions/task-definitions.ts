import { z } from "zod";
import {
  deleteTaskDefinitions,
  deregisterTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  registerTaskDefinition,
  resolveTaskDefinition,
} from "../../ops/task-definitions.ts";
import type { OpsContext } from "../../ops/context.ts";
import { tagsOf } from "../../ops/tags.ts";
import { parseInput } from "../../ops/validate.ts";
import { taskDefinitionView } from "../../views/ecs.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { includeMember, pagingMembers } from "./fields.ts";

const describeInput = z.strictObject({ taskDefinition: z.string().min(1), include: includeMember(["TAGS"]) });
const deregisterInput = z.strictObject({ taskDefinition: z.string().min(1) });
const deleteInput = z.strictObject({ taskDefinitions: z.array(z.string().min(1)).min(1).max(10) });
const listInput = z.strictObject({
  familyPrefix: z.string().optional(),
  status: z.enum(["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"]).optional(),
  sort: z.enum(["ASC", "DESC"]).optional(),
  ...pagingMembers,
});
const familiesInput = z.strictObject({
  familyPrefix: z.string().optional(),
  status: z.enum(["ACTIVE", "INACTIVE", "ALL"]).optional(),
  ...pagingMembers,
});

/** ECS's TaskDefinition has no tags member: they are the response's own `tags`, from the tags store. */
function ecsTaskDefinition(row: Parameters<typeof taskDefinitionView>[0]) {
  const { tags: _tags, ...view } = taskDefinitionView(row) as ReturnType<typeof taskDefinitionView> & { tags?: unknown };
  return view;
}

async function tagsOfOne(ctx: OpsContext, resourceArn: string) {
  return (await tagsOf(ctx, [resourceArn])).get(resourceArn) ?? [];
}

export const taskDefinitionActions: AwsJsonActions = {
  RegisterTaskDefinition: {
    access: "write",
    async handle({ ctx, input }) {
      // The request body is the task definition, as `aws ecs register-task-definition --cli-input-json` sends it.
      const { warnings: _warnings, ...row } = await registerTaskDefinition(ctx, input);
      return { taskDefinition: ecsTaskDefinition(row), tags: await tagsOfOne(ctx, row.arn) };
    },
  },
  DescribeTaskDefinition: {
    access: "read",
    async handle({ ctx, input }) {
      const req = parseInput(describeInput, input);
      const row = await resolveTaskDefinition(ctx, req.taskDefinition);
      return { taskDefinition: ecsTaskDefinition(row), ...(req.include?.includes("TAGS") ? { tags: await tagsOfOne(ctx, row.arn) } : {}) };
    },
  },
  DeregisterTaskDefinition: {
    access: "write",
    async handle({ ctx, input }) {
      const req = parseInput(deregisterInput, input);
      return { taskDefinition: ecsTaskDefinition(await deregisterTaskDefinition(ctx, req.taskDefinition)) };
    },
  },
  DeleteTaskDefinitions: {
    access: "write",
    async handle({ ctx, input }) {
      const req = parseInput(deleteInput, input);
      const r = await deleteTaskDefinitions(ctx, req.taskDefinitions);
      return { taskDefinitions: r.taskDefinitions.map(ecsTaskDefinition), failures: r.failures };
    },
  },
  ListTaskDefinitions: {
    access: "read",
    async handle({ ctx, input }) {
      const req = parseInput(listInput, input);
      const rows = await listTaskDefinitions(ctx, { familyPrefix: req.familyPrefix, status: req.status, sort: req.sort });
      const page = paginate(rows.map((r) => r.arn), req);
      return { taskDefinitionArns: page.items, nextToken: page.nextToken };
    },
  },
  ListTaskDefinitionFamilies: {
    access: "read",
    async handle({ ctx, input }) {
      const req = parseInput(familiesInput, input);
      const page = paginate(await listTaskDefinitionFamilies(ctx, req), req);
      return { families: page.items, nextToken: page.nextToken };
    },
  },
};
