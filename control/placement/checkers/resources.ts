import type { PreparedRequest } from "../prepared-request.ts";
import { REASON_CPU, REASON_MEMORY } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

export function checkCpu(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  return instance.remaining.cpu >= request.reservation.cpu ? null : REASON_CPU;
}

export function checkMemory(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  return instance.remaining.memory >= request.reservation.memory ? null : REASON_MEMORY;
}
