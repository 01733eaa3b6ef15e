import { taskReservation, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { eligibilityRejection, prepareRequest, type InstanceView, type PlacementConstraint, type RequiredAttribute } from "../placement/index.ts";
import type { OpsContext } from "./context.ts";
import { taskPlatform } from "./task-platform.ts";

/** ECS capability attributes that ECS itself adds to definitions; Flotilla agents satisfy them. */
export function enforcedAttributes(spec: TaskDefinitionSpec): RequiredAttribute[] {
  const req = (spec as { requiresAttributes?: { name: string; value?: string }[] }).requiresAttributes ?? [];
  return req.filter((a) => !/^(com\.amazonaws\.)?ecs\.capability\./.test(a.name)).map((a) => ({ name: a.name, value: a.value }));
}

export function definitionConstraints(spec: TaskDefinitionSpec): PlacementConstraint[] {
  const pcs = (spec as { placementConstraints?: { type: string; expression?: string }[] }).placementConstraints ?? [];
  return pcs.filter((p) => p.type === "memberOf" && p.expression).map((p) => ({ type: "memberOf", expression: p.expression! }));
}

/**
 * The container instances of a cluster a task definition's tasks could ever be placed on (with
 * the caller's constraints too, a service's): the same request startTasks builds — the definition's
 * memberOf constraints, requiresAttributes, the images' CPU architecture — judged only by the
 * checkers that do not change with placements (placement/checkers/eligibility.ts). Image
 * prefetches aim at these, so no host pulls images it could never run.
 */
export async function eligibleInstances(
  ctx: OpsContext,
  clusterName: string,
  td: { arn: string; spec: unknown },
  constraints: PlacementConstraint[] = [],
): Promise<InstanceView[]> {
  const spec = td.spec as TaskDefinitionSpec;
  const platform = await taskPlatform(ctx, td);
  const prepared = prepareRequest({
    count: 1,
    reservation: taskReservation(spec),
    group: "",
    constraints: [...definitionConstraints(spec), ...constraints],
    strategies: [],
    requiredAttributes: enforcedAttributes(spec),
    cpuArchitecture: platform.cpuArchitecture,
  });
  const index = await ctx.indexes.get(clusterName);
  return [...index.instances()].filter((v) => eligibilityRejection(v, prepared) === null);
}
