import { LABELS } from "../../shared/labels.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { VolumeSpec } from "../runtime/types.ts";

/**
 * A task's volumes as the runtime sees them. `host.sourcePath` is a bind mount of that path;
 * `dockerVolumeConfiguration` with scope "shared" is the Docker volume of the same name (kept when
 * the task ends); scope "task", and a volume with neither, is a Docker volume made for this task
 * alone and removed with its containers.
 */

type Volume = NonNullable<TaskDefinitionSpec["volumes"]>[number];

export interface TaskVolume {
  spec: VolumeSpec;
  /** Create it when missing (false: a shared volume without autoprovision must already exist). */
  create: boolean;
  /** Removed with the task's containers at cleanup. */
  taskScoped: boolean;
}

/** Docker name of a task-scoped volume. */
export function taskVolumeName(taskId: string, volume: string): string {
  return `flotilla-${taskId}-${volume}`;
}

/** What a mount point's sourceVolume binds: a host path or a Docker volume name. */
export function volumeSource(taskId: string, v: Volume): string {
  if (v.host?.sourcePath) return v.host.sourcePath;
  if (v.dockerVolumeConfiguration?.scope === "shared") return v.name;
  return taskVolumeName(taskId, v.name);
}

/** The Docker volumes a task needs before its containers are created. */
export function taskVolumes(taskId: string, td: TaskDefinitionSpec): TaskVolume[] {
  const out: TaskVolume[] = [];
  for (const v of td.volumes ?? []) {
    if (v.host?.sourcePath) continue;
    const dvc = v.dockerVolumeConfiguration;
    const shared = dvc?.scope === "shared";
    out.push({
      spec: {
        name: volumeSource(taskId, v),
        driver: dvc?.driver,
        driverOpts: dvc?.driverOpts,
        labels: { ...(dvc?.labels ?? {}), ...(shared ? {} : { [LABELS.taskId]: taskId }) },
      },
      create: !shared || dvc?.autoprovision === true,
      taskScoped: !shared,
    });
  }
  return out;
}
