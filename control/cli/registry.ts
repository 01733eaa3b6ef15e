import type { Resource } from "./command.ts";
import { accessKeys } from "./commands/access-keys.ts";
import { activations } from "./commands/activations.ts";
import { awsEnv } from "./commands/aws-env.ts";
import { attributes } from "./commands/attributes.ts";
import { audit } from "./commands/audit.ts";
import { clusters } from "./commands/clusters.ts";
import { instances } from "./commands/instances.ts";
import { policy } from "./commands/policy.ts";
import { pullLimits } from "./commands/pull-limits.ts";
import { secrets } from "./commands/secrets.ts";
import { services } from "./commands/services.ts";
import { taskDefinitions } from "./commands/task-definitions.ts";
import { tasks } from "./commands/tasks.ts";
import { tokens } from "./commands/tokens.ts";
import { events } from "./commands/events.ts";
import { webhooks } from "./commands/webhooks.ts";
import { windows } from "./commands/windows.ts";
import { agents } from "./commands/agents.ts";
import { images } from "./commands/images.ts";
import { db } from "./commands/db.ts";

/**
 * Every API resource the CLI drives; a new resource is one file under commands/ plus one line here.
 * (`config` and `completion` need no API and are added by runCli.)
 */
export const RESOURCES: Resource[] = [clusters, activations, instances, attributes, taskDefinitions, tasks, services, secrets, policy, tokens, audit, accessKeys, awsEnv, events, webhooks, windows, agents, images, pullLimits, db];
