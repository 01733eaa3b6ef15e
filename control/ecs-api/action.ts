import type { Caller } from "../ops/tokens.ts";
import type { InstanceRevoked } from "../ops/instances.ts";
import type { OpsContext } from "../ops/context.ts";

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
