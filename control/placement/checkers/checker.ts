import type { PreparedRequest } from "../prepared-request.ts";
import type { FailureReason, InstanceView } from "../types.ts";

/** One feasibility test: null when the instance can take the task, else ECS's reason for refusing. */
export type Checker = (instance: InstanceView, request: PreparedRequest) => FailureReason | null;
