import type { PreparedRequest } from "../prepared-request.ts";
import type { FailureReason, InstanceView } from "../types.ts";
import { checkAgentConnected, checkAgentVersion, checkHealth, checkStatus } from "./agent.ts";
import { checkCpuArchitecture, checkRequiredAttributes } from "./attributes.ts";
import type { Checker } from "./checker.ts";
import { checkDistinctInstance, checkMemberOf } from "./constraints.ts";
import { checkGpus } from "./gpus.ts";
import { checkPorts } from "./ports.ts";
import { checkCpu, checkMemory } from "./resources.ts";

/**
 * Cheapest and most selective first: a field compare, then attribute lookups, then compiled
 * expressions, then resources, ports and GPUs (which change with every placement). An instance is
 * refused by the first checker that fails, so each refusal is counted once.
 */
export const FEASIBILITY_CHAIN: readonly Checker[] = [
  checkStatus,
  checkAgentConnected,
  checkHealth,
  checkAgentVersion,
  checkCpuArchitecture,
  checkRequiredAttributes,
  checkMemberOf,
  checkDistinctInstance,
  checkCpu,
  checkMemory,
  checkPorts,
  checkGpus,
];

export function firstRejection(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  for (const check of FEASIBILITY_CHAIN) {
    const reason = check(instance, request);
    if (reason !== null) return reason;
  }
  return null;
}
