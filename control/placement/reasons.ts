import type { FailureReason } from "./types.ts";

export const REASON_AGENT: FailureReason = "AGENT";
export const REASON_ATTRIBUTE: FailureReason = "ATTRIBUTE";
export const REASON_MEMBER_OF: FailureReason = "MemberOf placement constraint unsatisfied";
export const REASON_DISTINCT_INSTANCE: FailureReason = "DistinctInstance placement constraint unsatisfied";
export const REASON_CPU: FailureReason = "RESOURCE:CPU";
export const REASON_MEMORY: FailureReason = "RESOURCE:MEMORY";
export const REASON_PORTS: FailureReason = "RESOURCE:PORTS";
export const REASON_GPU: FailureReason = "RESOURCE:GPU";
export const REASON_MISSING: FailureReason = "MISSING";
