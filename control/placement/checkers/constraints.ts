import type { PreparedRequest } from "../prepared-request.ts";
import { REASON_DISTINCT_INSTANCE, REASON_MEMBER_OF } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

export function checkMemberOf(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  for (const matches of request.memberOf) if (!matches(instance)) return REASON_MEMBER_OF;
  return null;
}

/**
 * ECS: "each task in a particular group is running on a different container instance". The
 * instance's group counts include tasks placed earlier in the same request (through the engine's
 * scratch overlay), so a RunTask of 3 lands on 3 instances and a service never doubles up.
 */
export function checkDistinctInstance(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  if (!request.distinctInstance) return null;
  return (instance.groups.get(request.group) ?? 0) > 0 ? REASON_DISTINCT_INSTANCE : null;
}
