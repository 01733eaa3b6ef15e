import { AGENT_VERSION_SKEW_ATTRIBUTE, CPU_ARCHITECTURE_ATTRIBUTE } from "../attribute-names.ts";
import { attributeOf, freeGpuCount } from "../instance-view.ts";
import type { PreparedRequest } from "../prepared-request.ts";
import {
  REASON_AGENT,
  REASON_ATTRIBUTE,
  REASON_CPU,
  REASON_DISTINCT_INSTANCE,
  REASON_GPU,
  REASON_MEMBER_OF,
  REASON_MEMORY,
  REASON_PORTS,
} from "../reasons.ts";
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

/** FEASIBILITY_CHAIN run one checker after the other: what `firstRejection` must always agree with. */
export function firstRejectionByChain(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  for (const check of FEASIBILITY_CHAIN) {
    const reason = check(instance, request);
    if (reason !== null) return reason;
  }
  return null;
}

/**
 * FEASIBILITY_CHAIN with the checkers written out in the same order, each skipped when the
 * request cannot be refused by it (no architecture, no memberOf, no ports, ...). The engine runs
 * this on every sampled candidate (tens per task): calling eleven checkers through an array cost
 * more than the checks themselves. test/control/placement/checkers.test.ts holds it to the chain.
 */
export function firstRejection(i: InstanceView, r: PreparedRequest): FailureReason | null {
  if (i.status !== "ACTIVE" || !i.agentConnected || i.healthStatus === "IMPAIRED") return REASON_AGENT;
  if (attributeOf(i, AGENT_VERSION_SKEW_ATTRIBUTE) === "too-old") return REASON_AGENT;
  const arch = r.architectureValues;
  if (arch !== null) {
    const actual = attributeOf(i, CPU_ARCHITECTURE_ATTRIBUTE);
    if (actual === undefined || !arch.includes(actual)) return REASON_ATTRIBUTE;
  }
  const required = r.requiredAttributes;
  for (let k = 0; k < required.length; k++) {
    const a = required[k]!;
    const actual = attributeOf(i, a.name);
    if (actual === undefined || (a.value !== undefined && actual !== a.value)) return REASON_ATTRIBUTE;
  }
  const memberOf = r.memberOf;
  for (let k = 0; k < memberOf.length; k++) if (!memberOf[k]!(i)) return REASON_MEMBER_OF;
  if (r.distinctInstance && (i.groups.get(r.group) ?? 0) > 0) return REASON_DISTINCT_INSTANCE;
  const reservation = r.reservation;
  if (i.remaining.cpu < reservation.cpu) return REASON_CPU;
  if (i.remaining.memory < reservation.memory) return REASON_MEMORY;
  if (r.hasPorts) {
    const tcp = reservation.tcpPorts;
    for (let k = 0; k < tcp.length; k++) if (i.usedPorts.tcp.has(tcp[k]!)) return REASON_PORTS;
    const udp = reservation.udpPorts;
    for (let k = 0; k < udp.length; k++) if (i.usedPorts.udp.has(udp[k]!)) return REASON_PORTS;
    const held = r.heldTcpPorts?.(i);
    if (held) for (let k = 0; k < tcp.length; k++) if (held.has(tcp[k]!)) return REASON_PORTS;
  }
  if (r.gpus > 0 && freeGpuCount(i) < r.gpus) return REASON_GPU;
  return null;
}
