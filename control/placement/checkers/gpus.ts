import { freeGpuCount } from "../instance-view.ts";
import type { PreparedRequest } from "../prepared-request.ts";
import { REASON_GPU } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

/**
 * ECS's GPU placement: a task needing N GPUs fits only where N registered GPU ids are not held by
 * another live task (GPUs are never shared). Instances without GPUs refuse any task that needs one.
 */
export function checkGpus(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  const wanted = request.reservation.gpus ?? 0;
  if (wanted === 0) return null;
  return freeGpuCount(instance) >= wanted ? null : REASON_GPU;
}
