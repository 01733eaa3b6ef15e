import type { InstanceView } from "../placement/index.ts";
import type { InstanceRow } from "../db/rows.ts";

/** The instance columns the engine's view is built from. */
export type ViewColumns = Pick<
  InstanceRow,
  "id" | "arn" | "status" | "agentConnected" | "healthStatus" | "registeredAt" | "version" | "registeredCpu" | "registeredMemory" | "usedCpu" | "usedMemory" | "usedPorts" | "registeredGpus" | "usedGpus" | "attributes"
>;

export function toInstanceView(r: ViewColumns, groups: Map<string, number>): InstanceView {
  const health = r.healthStatus;
  return {
    id: r.id,
    arn: r.arn,
    status: r.status,
    agentConnected: r.agentConnected,
    healthStatus: health === "IMPAIRED" ? "IMPAIRED" : health === "OK" ? "OK" : "UNKNOWN",
    registeredAt: r.registeredAt,
    version: r.version,
    registered: { cpu: r.registeredCpu, memory: r.registeredMemory },
    remaining: { cpu: r.registeredCpu - r.usedCpu, memory: r.registeredMemory - r.usedMemory },
    usedPorts: { tcp: new Set(r.usedPorts.tcp), udp: new Set(r.usedPorts.udp) },
    // Only ids still registered count as held: a GPU the host no longer reports is not offered anyway.
    gpus: { ids: r.registeredGpus, used: new Set(r.usedGpus.filter((id) => r.registeredGpus.includes(id))) },
    attributes: r.attributes,
    runningTasksCount: [...groups.values()].reduce((a, b) => a + b, 0),
    groups,
  };
}
