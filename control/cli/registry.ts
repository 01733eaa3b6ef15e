import type { Resource } from "./command.ts";
import { accessKeys } from "./commands/access-keys.ts";
import { activations } from "./commands/activations.ts";
import { awsEnv } from "./commands/aws-env.ts";
import { attributes } from "./commands/attributes.ts";
import { clusters } from "./commands/clusters.ts";
import { instances } from "./commands/instances.ts";
import { services } from "./commands/services.ts";
import { taskDefinitions } from "./commands/task-definitions.ts";
import { tasks } from "./commands/tasks.ts";

/** Every resource the CLI knows; a new resource is one file under commands/ plus one line here. */
export const RESOURCES: Resource[] = [clusters, activations, instances, attributes, taskDefinitions, tasks, services, accessKeys, awsEnv];
