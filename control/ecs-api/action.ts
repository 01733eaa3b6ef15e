import type { Caller } from "../ops/tokens.ts";
import type { InstanceRevoked } from "../ops/instances.ts";
import type { OpsContext } from "../ops/context.ts";
import type { AgentReleaseStore } from "../ops/agent-release-store.ts";
import type { SendAgentRequest } from "../ops/agent-updates.ts";

/** What UpdateContainerAgent needs, as the REST route gets it: the release store and the agent link. */
export interface AgentUpdateDoor {
  store: AgentReleaseStore;
  /** Undefined while the agent link is not up (then the call is a ServerException). */
  send: () => SendAgentRequest | undefined;
}

/**
 * One action of an AWS JSON 1.1 front door (`X-Amz-Target: <Service>.<Action>`). Actions are thin:
 * they translate ECS's request shape into a call of an operation in control/ops and its result into
 * ECS's response shape. No rule lives here that the REST routes do not share.
 */
export interface AwsJsonRequest {
  ctx: OpsContext;
  caller: Caller;
  /** The parsed JSON body (an object; `{}` for an empty body). */
  input: Record<string, unknown>;
  requestId: string;
  /**
   * DeregisterContainerInstance calls it to drop the agent's live broker session and credential,
   * as the REST route does: the protocol forwards createApi's `instanceRevoked` option here.
   */
  instanceRevoked?: InstanceRevoked;
  /** UpdateContainerAgent's release store and agent link (createApi's agentReleases/agentRequests). */
  agentUpdates?: AgentUpdateDoor;
  /** The origin the request came to (the agent's download URL base when no --public-url is set). */
  origin: string;
}

export interface AwsJsonAction {
  /** What the caller's role must allow: reads are open to read-only keys and tokens. */
  access: "read" | "write";
  /**
   * Returns the response body. Times may be ISO strings or epoch milliseconds as the REST views
   * give them; the protocol writes every timestamp member as epoch seconds (protocol.ts).
   */
  handle(req: AwsJsonRequest): Promise<Record<string, unknown>>;
}

/** Actions of one service, by name (`RunTask`, `CreateActivation`). */
export type AwsJsonActions = Record<string, AwsJsonAction>;
