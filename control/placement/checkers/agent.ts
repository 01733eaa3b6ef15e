import { AGENT_VERSION_SKEW_ATTRIBUTE } from "../attribute-names.ts";
import { attributeOf } from "../instance-view.ts";
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

/** An agent more than one minor version behind the control gets no new tasks (the detail says why). */
export function checkAgentVersion(instance: InstanceView): FailureReason | null {
  return attributeOf(instance, AGENT_VERSION_SKEW_ATTRIBUTE) === "too-old" ? REASON_AGENT : null;
}
