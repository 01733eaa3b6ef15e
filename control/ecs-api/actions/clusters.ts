import { z } from "zod";
import { arn, parseArn } from "../../../shared/arn.ts";
import { clusterCounts, createCluster, deleteCluster, listClusters, requireCluster, type ClusterCounts } from "../../ops/clusters.ts";
import { OpError } from "../../ops/errors.ts";
import { tagsOf } from "../../ops/tags.ts";
import { parseInput } from "../../ops/validate.ts";
import type { ClusterRow } from "../../db/rows.ts";
import { clusterView } from "../../views/ecs.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { includeMember, pagingMembers } from "./fields.ts";

const createInput = z.strictObject({ clusterName: z.string().optional(), tags: z.array(z.unknown()).optional() });
const describeInput = z.strictObject({
  clusters: z.array(z.string().min(1)).max(100).optional(),
  include: includeMember(["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"]),
});
const listInput = z.strictObject({ ...pagingMembers });
const deleteInput = z.strictObject({ cluster: z.string().min(1) });

/** ECS's `statistics` (STATISTICS): the task counts by launch type; every Flotilla task is EXTERNAL. */
function statistics(counts: ClusterCounts) {
  return [
    { name: "runningExternalTasksCount", value: String(counts.runningTasksCount) },
    { name: "pendingExternalTasksCount", value: String(counts.pendingTasksCount) },
    { name: "activeExternalServiceCount", value: String(counts.activeServicesCount) },
    { name: "drainingExternalServiceCount", value: String(counts.drainingServicesCount) },
  ];
}

async function described(ctx: Parameters<typeof clusterCounts>[0], row: ClusterRow, include: readonly string[] = []) {
  const counts = await clusterCounts(ctx, row.name);
  return {
    ...clusterView(row, counts),
    ...(include.includes("STATISTICS") ? { statistics: statistics(counts) } : {}),
    // ECS's cluster settings: container insights is not something Flotilla collects.
    ...(include.includes("SETTINGS") ? { settings: [{ name: "containerInsights", value: "disabled" }] } : {}),
    ...(include.includes("TAGS") ? { tags: (await tagsOf(ctx, [row.arn])).get(row.arn) ?? [] } : {}),
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
}

export const clusterActions: AwsJsonActions = {
  CreateCluster: {
    access: "write",
    async handle({ ctx, input }) {
      const req = parseInput(createInput, input);
      const { row } = await createCluster(ctx, { clusterName: req.clusterName ?? "default", ...(req.tags ? { tags: req.tags } : {}) });
      return { cluster: await described(ctx, row, req.tags?.length ? ["TAGS"] : []) };
    },
  },
  DescribeClusters: {
    access: "read",
    async handle({ ctx, input }) {
      const req = parseInput(describeInput, input);
      const clusters = [];
      const failures = [];
      for (const ref of req.clusters ?? ["default"]) {
        try {
          clusters.push(await described(ctx, await requireCluster(ctx, ref), req.include));
        } catch (e) {
          if (!(e instanceof OpError) || e.code !== "ClusterNotFoundException") throw e;
          failures.push({ arn: parseArn(ref) ? ref : arn.cluster(ref), reason: "MISSING" });
        }
      }
      return { clusters, failures };
    },
  },
  ListClusters: {
    access: "read",
    async handle({ ctx, input }) {
      const req = parseInput(listInput, input);
      const page = paginate((await listClusters(ctx)).map((r) => r.arn), req);
      return { clusterArns: page.items, nextToken: page.nextToken };
    },
  },
  DeleteCluster: {
    access: "write",
    async handle({ ctx, input }) {
      const req = parseInput(deleteInput, input);
      const row = await deleteCluster(ctx, req.cluster);
      return { cluster: { ...clusterView(row, { registeredContainerInstancesCount: 0, runningTasksCount: 0, pendingTasksCount: 0, activeServicesCount: 0 }) } };
    },
  },
};
