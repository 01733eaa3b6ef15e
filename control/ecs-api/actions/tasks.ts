import { z } from "zod";
import { arn, parseArn } from "../../../shared/arn.ts";
import type { TaskRow } from "../../db/rows.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid } from "../../ops/errors.ts";
import { tagsOf } from "../../ops/tags.ts";
import { describeTasksIn, listTasks, runTask, startTask, stopTask } from "../../ops/tasks.ts";
import { parseInput } from "../../ops/validate.ts";
import { taskView } from "../../views/ecs.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { clusterOf, includeOf, namesOf, withoutUnsupported } from "./fields.ts";

/**
 * RunTask, StartTask, StopTask, DescribeTasks, ListTasks over ops/tasks.ts. The task shape is the
 * REST view's (views/ecs.ts, ECS's Task with overrides and containers); lists answer ARNs.
 */

/** ECS members with no Flotilla counterpart (ECS Anywhere has no awsvpc subnets, capacity providers or ECS Exec). */
const UNSUPPORTED_ON_LAUNCH: Record<string, unknown[]> = {
  capacityProviderStrategy: [],
  networkConfiguration: [],
  platformVersion: [],
  enableECSManagedTags: [],
  enableExecuteCommand: [],
  volumeConfigurations: [],
  referenceId: [],
};

/** The request without `cluster` and the refused members: what the operation's strict schema reads. */
function launchInput(input: Record<string, unknown>): Record<string, unknown> {
  const { cluster: _cluster, ...rest } = input;
  return withoutUnsupported(rest, UNSUPPORTED_ON_LAUNCH);
}

async function rendered(ctx: OpsContext, rows: TaskRow[], withTags: boolean) {
  const tags = withTags ? await tagsOf(ctx, rows.map((r) => r.arn)) : undefined;
  return rows.map((r) => (tags ? { ...taskView(r), tags: tags.get(r.arn) ?? [] } : taskView(r)));
}

const stopInput = z.object({ task: z.string().min(1), reason: z.string().optional() });
const listInput = z.object({ nextToken: z.string().optional(), maxResults: z.number().int().optional() });
/** ListTasks' filters, all of ECS's but daemonName (Flotilla has no daemons as resources). */
const LIST_FILTERS = ["containerInstance", "family", "startedBy", "serviceName", "desiredStatus", "launchType"];

export const taskActions: AwsJsonActions = {
  RunTask: {
    access: "write",
    async handle({ ctx, input }) {
      const r = await runTask(ctx, clusterOf(input), launchInput(input));
      return { tasks: await rendered(ctx, r.tasks, false), failures: r.failures };
    },
  },
  StartTask: {
    access: "write",
    async handle({ ctx, input }) {
      const r = await startTask(ctx, clusterOf(input), launchInput(input));
      return { tasks: await rendered(ctx, r.tasks, false), failures: r.failures };
    },
  },
  StopTask: {
    access: "write",
    async handle({ ctx, input }) {
      const req = parseInput(stopInput, input);
      const row = await stopTask(ctx, clusterOf(input), req.task, req.reason === undefined ? {} : { reason: req.reason });
      return { task: taskView(row) };
    },
  },
  DescribeTasks: {
    access: "read",
    async handle({ ctx, input }) {
      const refs = namesOf(input, "tasks", 100);
      const cluster = clusterOf(input);
      const r = await describeTasksIn(ctx, cluster, refs);
      return {
        tasks: await rendered(ctx, r.tasks, includeOf(input, ["TAGS"]).has("TAGS")),
        failures: r.missing.map((ref) => ({ arn: parseArn(ref) ? ref : arn.task(cluster, ref), reason: "MISSING" })),
      };
    },
  },
  ListTasks: {
    access: "read",
    async handle({ ctx, input }) {
      const { cluster: _cluster, nextToken, maxResults, ...rest } = input;
      const filters = withoutUnsupported(rest, { daemonName: [] });
      const unknown = Object.keys(filters).filter((k) => !LIST_FILTERS.includes(k));
      if (unknown.length) throw invalid(unknown.map((k) => `${k}: unknown member`).join("; "), unknown.map((path) => ({ path, message: "unknown member" })));
      const page = paginate((await listTasks(ctx, clusterOf(input), filters)).map((r) => r.arn), parseInput(listInput, { nextToken, maxResults }));
      return { taskArns: page.items, nextToken: page.nextToken };
    },
  },
};
