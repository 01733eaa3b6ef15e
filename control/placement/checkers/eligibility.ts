import type { PreparedRequest } from "../prepared-request.ts";
import type { FailureReason, InstanceView } from "../types.ts";
import { checkAgentConnected, checkAgentVersion, checkStatus } from "./agent.ts";
import { checkCpuArchitecture, checkRequiredAttributes } from "./attributes.ts";
import type { Checker } from "./checker.ts";
import { checkMemberOf } from "./constraints.ts";

/**
 * The checkers of FEASIBILITY_CHAIN whose answer does not change as tasks come and go: whether a
 * host could ever take the task, not whether it has room now. What an image prefetch aims at (a
 * host the definition's tasks can never be placed on needs none of its images); resources, ports,
 * GPUs, distinctInstance and the health reading are left out because they change with placements.
 */
export const ELIGIBILITY_CHECKERS: readonly Checker[] = [checkStatus, checkAgentConnected, checkAgentVersion, checkCpuArchitecture, checkRequiredAttributes, checkMemberOf];

/** The first ELIGIBILITY_CHECKERS refusal, or null when the host could run the task. */
export function eligibilityRejection(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  for (const check of ELIGIBILITY_CHECKERS) {
    const reason = check(instance, request);
    if (reason !== null) return reason;
  }
  return null;
}
