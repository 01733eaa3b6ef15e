import type { Reservation } from "../../../shared/task-definition/index.ts";
import { newTaskColumns, type SharedTaskColumns } from "../../../control/scheduling/task-insert.ts";

/** A fresh RunTask's shared columns for `family:1` in cluster "edge", as commit-pipeline tests hand them to encodeTaskRows. */
export function sharedTaskColumns(family: string, group: string, reservation: Reservation): SharedTaskColumns {
  return newTaskColumns(
    { clusterName: "edge", family, revision: 1, taskDefinitionArn: `arn:aws:ecs:local:000000000000:task-definition/${family}:1`, group, containers: [], reservation },
    1,
  );
}
