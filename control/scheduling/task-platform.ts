import { perDatabase } from "../db/per-database.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { OpsContext } from "./context.ts";
import { ImagePlatforms, type CpuArchitecture } from "./image-platforms.ts";

/** Without one in the context (tests building their own), each database gets its own cache. */
const byDatabase = perDatabase(() => new ImagePlatforms());

export function imagePlatformsOf(ctx: OpsContext): ImagePlatforms {
  return ctx.imagePlatforms ?? byDatabase(ctx.db);
}

/** What RunTask and the service scheduler report for tasks placed without the platform check. */
export const PLATFORM_UNCHECKED = "PLATFORM_UNCHECKED";

/**
 * The architecture a task definition's tasks must run on: runtimePlatform.cpuArchitecture when
 * given, else what the images' registries say. Notices name the images that could not be checked.
 */
export async function taskPlatform(
  ctx: OpsContext,
  td: { arn: string; spec: unknown },
): Promise<{ cpuArchitecture?: CpuArchitecture; notices: { arn: string; reason: string; detail: string }[] }> {
  const spec = td.spec as TaskDefinitionSpec;
  const declared = (spec as { runtimePlatform?: { cpuArchitecture?: CpuArchitecture } }).runtimePlatform?.cpuArchitecture;
  if (declared) return { cpuArchitecture: declared, notices: [] };
  const check = await imagePlatformsOf(ctx).check(spec.containerDefinitions.map((cd) => cd.image));
  return {
    cpuArchitecture: check.cpuArchitecture,
    notices: check.unchecked.map((u) => ({
      arn: td.arn,
      reason: PLATFORM_UNCHECKED,
      detail: `image ${u.image}: ${u.why}; placed without a CPU architecture constraint`,
    })),
  };
}

/** Starts the look-ups a task definition will need, so its first RunTask finds them answered. */
export function prefetchTaskPlatform(ctx: OpsContext, spec: TaskDefinitionSpec): void {
  if ((spec as { runtimePlatform?: { cpuArchitecture?: string } }).runtimePlatform?.cpuArchitecture) return;
  imagePlatformsOf(ctx).prefetch(spec.containerDefinitions.map((cd) => cd.image));
}
