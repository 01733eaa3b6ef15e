import type { AwsJsonActions } from "../action.ts";
import { agentUpdateActions } from "./agent-updates.ts";
import { attributeActions } from "./attributes.ts";
import { clusterActions } from "./clusters.ts";
import { containerInstanceActions } from "./container-instances.ts";
import { serviceActions } from "./services.ts";
import { tagActions } from "./tags.ts";
import { taskDefinitionActions } from "./task-definitions.ts";
import { taskActions } from "./tasks.ts";

/** Every ECS action of the AWS JSON front door, by name: one record per resource file. */
export const ecsActions: AwsJsonActions = {
  ...clusterActions,
  ...taskDefinitionActions,
  ...taskActions,
  ...serviceActions,
  ...containerInstanceActions,
  ...agentUpdateActions,
  ...attributeActions,
  ...tagActions,
};
