import { CPU_ARCHITECTURE_ATTRIBUTE } from "../attribute-names.ts";
import { attributeOf } from "../instance-view.ts";
import type { PreparedRequest } from "../prepared-request.ts";
import { REASON_ATTRIBUTE } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

/**
 * ECS expresses runtimePlatform.cpuArchitecture as a required ecs.cpu-architecture attribute, so a
 * mismatch is an "ATTRIBUTE" failure. An instance that never reported its architecture is refused:
 * placing an arm64 image on an unknown host is worse than not placing it.
 */
export function checkCpuArchitecture(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  const wanted = request.architectureValues;
  if (!wanted) return null;
  const actual = attributeOf(instance, CPU_ARCHITECTURE_ATTRIBUTE);
  return actual !== undefined && wanted.includes(actual) ? null : REASON_ATTRIBUTE;
}

/** requiresAttributes: the attribute must exist and, when a value is given, equal it exactly. */
export function checkRequiredAttributes(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  for (const a of request.requiredAttributes) {
    const actual = attributeOf(instance, a.name);
    if (actual === undefined || (a.value !== undefined && actual !== a.value)) return REASON_ATTRIBUTE;
  }
  return null;
}
