import type { HealthStatus } from "../../shared/messages.ts";
import type { RuntimeContainer } from "../runtime/types.ts";

/** Docker health state → ECS healthStatus ("starting" is not known yet: UNKNOWN). */
export function ecsHealthStatus(h: RuntimeContainer["health"]): HealthStatus {
  return h === "healthy" ? "HEALTHY" : h === "unhealthy" ? "UNHEALTHY" : "UNKNOWN";
}
