import { REASON_AGENT } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

/*
 * ECS has no failure reason for a DRAINING (or REGISTERING) instance: it simply never offers one.
 * Flotilla reports these as "AGENT", ECS's reason for an instance whose agent cannot take work,
 * so every refused instance is still counted somewhere in `rejected`.
 */

export function checkStatus(instance: InstanceView): FailureReason | null {
  return instance.status === "ACTIVE" ? null : REASON_AGENT;
}

export function checkAgentConnected(instance: InstanceView): FailureReason | null {
  return instance.agentConnected ? null : REASON_AGENT;
}

/** UNKNOWN passes: a freshly connected agent has not reported health yet and must still get work. */
export function checkHealth(instance: InstanceView): FailureReason | null {
  return instance.healthStatus === "IMPAIRED" ? REASON_AGENT : null;
}
