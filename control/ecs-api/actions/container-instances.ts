import { z } from "zod";
import { arn, nameOrArnOf } from "../../../shared/arn.ts";
import type { InstanceRow } from "../../db/rows.ts";
import type { OpsContext } from "../../ops/context.ts";
import { requireCluster } from "../../ops/clusters.ts";
import { invalid, OpError } from "../../ops/errors.ts";
import { deregisterContainerInstance, instanceStatusInput, instanceTaskCounts, listContainerInstances, requireInstance, updateInstanceStatus } from "../../ops/instances.ts";
import { tagsOf, type Tag } from "../../ops/tags.ts";
import { parseInput } from "../../ops/validate.ts";
import { containerInstanceView } from "../../views/ecs.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { clusterOf, includeOf, namesOf, pick } from "./fields.ts";

/**
 * ListContainerInstances, DescribeContainerInstances, UpdateContainerInstancesState and
 * DeregisterContainerInstance over ops/instances.ts. The instance shape is the REST view's
 * (views/ecs.ts); as in ECS, `healthStatus` and `tags` are there only when `include` asks.
 */

type Failure = { arn: string; reason: string; detail?: string };

async function render(ctx: OpsContext, row: InstanceRow, opts: { health: boolean; tags?: Map<string, Tag[]> }) {
  const { healthStatus, ...view } = containerInstanceView(row, await instanceTaskCounts(ctx, row.id));
  return { ...view, ...(opts.health ? { healthStatus } : {}), ...(opts.tags ? { tags: opts.tags.get(row.arn) ?? [] } : {}) };
}

/** The instance an entry names in this cluster, or undefined (ECS's failure reason MISSING). */
async function instanceOrMissing(ctx: OpsContext, cluster: string, ref: string, field: string): Promise<InstanceRow | undefined> {
  const r = nameOrArnOf("container-instance", ref);
  if (!r.ok) throw invalid(`${field}: ${r.message}`, [{ path: field, message: r.message }]);
  try {
    // requireInstance finds nothing through another cluster's ARN.
    return await requireInstance(ctx, cluster, ref);
  } catch (e) {
    if (e instanceof OpError && e.kind === "not-found") return undefined;
    throw e;
  }
}

const missingArn = (cluster: string, ref: string) => (ref.startsWith("arn:") ? ref : arn.containerInstance(cluster, ref));

const deregisterInput = z.object({ containerInstance: z.string().min(1), force: z.boolean().optional() });

export const containerInstanceActions: AwsJsonActions = {
  ListContainerInstances: {
    access: "read",
    async handle({ ctx, input }) {
      const rows = await listContainerInstances(ctx, clusterOf(input), pick(input, ["filter", "status"]));
      const page = paginate(
        rows.map((r) => r.arn),
        input,
      );
      return { containerInstanceArns: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    },
  },

  DescribeContainerInstances: {
    access: "read",
    async handle({ ctx, input }) {
      const cluster = (await requireCluster(ctx, clusterOf(input))).name;
      const refs = namesOf(input, "containerInstances", 100);
      const include = includeOf(input, ["TAGS", "CONTAINER_INSTANCE_HEALTH"]);
      const rows: InstanceRow[] = [];
      const failures: Failure[] = [];
      for (const [i, ref] of refs.entries()) {
        const row = await instanceOrMissing(ctx, cluster, ref, `containerInstances[${i}]`);
        if (row) rows.push(row);
        else failures.push({ arn: missingArn(cluster, ref), reason: "MISSING" });
      }
      const tags = include.has("TAGS") ? await tagsOf(ctx, rows.map((r) => r.arn)) : undefined;
      const containerInstances = [];
      for (const row of rows) containerInstances.push(await render(ctx, row, { health: include.has("CONTAINER_INSTANCE_HEALTH"), tags }));
      return { containerInstances, failures };
    },
  },

  UpdateContainerInstancesState: {
    access: "write",
    async handle({ ctx, input }) {
      const cluster = (await requireCluster(ctx, clusterOf(input))).name;
      const refs = namesOf(input, "containerInstances", 10);
      // A bad status fails the whole call, whether or not any instance is found.
      const body = parseInput(instanceStatusInput, pick(input, ["status"]));
      const updated: InstanceRow[] = [];
      const failures: Failure[] = [];
      for (const [i, ref] of refs.entries()) {
        const found = await instanceOrMissing(ctx, cluster, ref, `containerInstances[${i}]`);
        if (!found) {
          failures.push({ arn: missingArn(cluster, ref), reason: "MISSING" });
          continue;
        }
        try {
          updated.push(await updateInstanceStatus(ctx, cluster, found.id, body));
        } catch (e) {
          // The operation's one refusal of an instance that exists: it is deregistered.
          if (e instanceof OpError && e.kind === "conflict") failures.push({ arn: found.arn, reason: "INACTIVE", detail: e.message });
          else throw e;
        }
      }
      const containerInstances = [];
      for (const row of updated) containerInstances.push(await render(ctx, row, { health: false }));
      return { containerInstances, failures };
    },
  },

  DeregisterContainerInstance: {
    access: "write",
    async handle({ ctx, input, instanceRevoked }) {
      const req = parseInput(deregisterInput, input);
      const { row } = await deregisterContainerInstance(ctx, clusterOf(input), req.containerInstance, { force: req.force === true });
      // As the REST route: the agent's live broker session goes at once, not at its next reconnect.
      await instanceRevoked?.(row.id);
      return { containerInstance: await render(ctx, row, { health: false }) };
    },
  },
};
