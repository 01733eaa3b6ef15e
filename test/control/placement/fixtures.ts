import { prepareRequest, type PreparedRequest } from "../../../control/placement/prepared-request.ts";
import type { InstanceView, PlacementRequest } from "../../../control/placement/types.ts";

type InstanceOverrides = Partial<Omit<InstanceView, "usedPorts" | "groups" | "gpus">> & {
  /** Registered GPU ids, and those already held. */
  gpus?: string[];
  usedGpus?: string[];
  tcp?: number[];
  udp?: number[];
  groups?: Record<string, number>;
};

/** An ACTIVE, connected, healthy x86_64 instance with 4096 cpu / 8192 MiB free unless overridden. */
export function instance(id: string, o: InstanceOverrides = {}): InstanceView {
  const registered = o.registered ?? { cpu: 4096, memory: 8192 };
  const groups = new Map(Object.entries(o.groups ?? {}));
  return {
    id,
    arn: o.arn ?? `arn:flotilla:ecs:local:000000000000:container-instance/test/${id}`,
    status: o.status ?? "ACTIVE",
    agentConnected: o.agentConnected ?? true,
    healthStatus: o.healthStatus ?? "OK",
    registeredAt: o.registeredAt ?? Date.UTC(2026, 0, 15),
    version: o.version ?? 1,
    registered,
    remaining: o.remaining ?? { ...registered },
    usedPorts: { tcp: new Set(o.tcp ?? []), udp: new Set(o.udp ?? []) },
    gpus: { ids: o.gpus ?? [], used: new Set(o.usedGpus ?? []) },
    attributes: o.attributes ?? { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", hostname: `host-${id}` },
    runningTasksCount: o.runningTasksCount ?? [...groups.values()].reduce((a, b) => a + b, 0),
    groups,
  };
}

export function request(o: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    count: o.count ?? 1,
    reservation: o.reservation ?? { cpu: 256, memory: 512, tcpPorts: [], udpPorts: [] },
    group: o.group ?? "family:web",
    constraints: o.constraints ?? [],
    strategies: o.strategies ?? [],
    requiredAttributes: o.requiredAttributes ?? [],
    ...(o.cpuArchitecture ? { cpuArchitecture: o.cpuArchitecture } : {}),
  };
}

export function prepared(o: Partial<PlacementRequest> = {}): PreparedRequest {
  return prepareRequest(request(o));
}

/** How many placements landed on each instance. */
export function tally(placements: { instanceId: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of placements) out[p.instanceId] = (out[p.instanceId] ?? 0) + 1;
  return out;
}
