import { z } from "zod";
import { updateContainerAgent } from "../../ops/agent-updates.ts";
import { OpError } from "../../ops/errors.ts";
import { instanceTaskCounts } from "../../ops/instances.ts";
import { parseInput } from "../../ops/validate.ts";
import { containerInstanceView } from "../../views/ecs.ts";
import type { AwsJsonActions } from "../action.ts";
import { clusterOf } from "./fields.ts";

const updateInput = z.object({ cluster: z.string().optional(), containerInstance: z.string().min(1) });

/**
 * UpdateContainerAgent over ops/agent-updates.ts, the operation the REST route
 * `POST …/container-instances/{id}/update-agent` calls: ECS's request names no version, so the
 * instance goes to the newest uploaded release for its architecture. The operation's refusals
 * carry ECS's names (NoUpdateAvailableException, UpdateInProgressException, MissingVersionException).
 */
export const agentUpdateActions: AwsJsonActions = {
  UpdateContainerAgent: {
    access: "write",
    async handle({ ctx, input, agentUpdates, origin }) {
      const req = parseInput(updateInput, input);
      const send = agentUpdates?.send();
      if (!agentUpdates || !send) throw new OpError("invalid", "ServerException", "no agent link: agent updates cannot be sent now");
      const row = await updateContainerAgent(ctx, agentUpdates.store, send, clusterOf(input), req.containerInstance, {}, origin);
      const { healthStatus: _, ...view } = containerInstanceView(row, await instanceTaskCounts(ctx, row.id));
      return { containerInstance: view };
    },
  },
};
