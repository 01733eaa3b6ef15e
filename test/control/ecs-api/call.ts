import type { AwsJsonActions } from "../../../control/ecs-api/action.ts";
import { OpError } from "../../../control/ops/errors.ts";
import type { TestOps } from "../../helpers/ops.ts";

/**
 * Calls an ECS JSON action's handler in-process with an admin caller, as the protocol dispatcher
 * would after authentication. Returns the body, or the OpError it refused with.
 */
export async function call(t: TestOps, actions: AwsJsonActions, name: string, input: Record<string, unknown> = {}): Promise<any> {
  const action = actions[name];
  if (!action) throw new Error(`no action ${name}`);
  return action.handle({ ctx: t.ctx, caller: { tokenId: "test", name: "test", role: "admin" }, input, requestId: "test" });
}

/** The ECS exception an action refused with (its `code`), and the error; fails when it succeeds. */
export async function refusal(t: TestOps, actions: AwsJsonActions, name: string, input: Record<string, unknown> = {}): Promise<OpError> {
  try {
    await call(t, actions, name, input);
  } catch (e) {
    if (e instanceof OpError) return e;
    throw e;
  }
  throw new Error(`expected ${name} to be refused, but it succeeded`);
}
