import { hostPortOf, networkModeOf } from "./network.ts";
import type { TaskDefinitionSpec } from "./schema.ts";

export interface Reservation {
  cpu: number;
  memory: number;
  tcpPorts: number[];
  udpPorts: number[];
  /** GPUs the task needs (the sum of its containers' GPU resourceRequirements); absent = none. */
  gpus?: number;
  /**
   * The GPU ids (as the host's agent registered them) placement gave this task, in container
   * order; only on a placed task's stored reservation, so its release gives back exactly these.
   */
  gpuIds?: string[];
}

/** Number of GPUs one container asks for through resourceRequirements (type GPU); 0 when none. */
export function containerGpuCount(c: { resourceRequirements?: { type: string; value: string }[] }): number {
  return (c.resourceRequirements ?? []).reduce((n, rr) => n + (rr.type === "GPU" ? Number(rr.value) : 0), 0);
}

/**
 * Splits a task's assigned GPU ids over its containers in definition order, each taking as many as
 * its GPU resourceRequirement asks (ECS associates every GPU with exactly one container).
 */
export function gpuIdsByContainer(td: TaskDefinitionSpec, gpuIds: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let at = 0;
  for (const c of td.containerDefinitions) {
    const n = containerGpuCount(c);
    if (n === 0) continue;
    out.set(c.name, gpuIds.slice(at, at + n));
    at += n;
  }
  return out;
}

/**
 * What a task reserves on an instance, as ECS computes it: task-level cpu/memory when given,
 * otherwise the sum over containers (a container counts its memoryReservation when it has one,
 * else its memory). Static host ports are reserved per protocol: in host and awsvpc modes every
 * mapping's containerPort; in bridge mode hostPort when > 0 (0 or absent = dynamic, chosen at
 * start, not reserved here); none mode publishes nothing. Ports are listed once each, in definition order.
 * GPUs are counted here; which ones a task gets is placement's choice (see control/placement).
 */
export function taskReservation(td: TaskDefinitionSpec): Reservation {
  const sum = (f: (c: TaskDefinitionSpec["containerDefinitions"][number]) => number) =>
    td.containerDefinitions.reduce((acc, c) => acc + f(c), 0);
  const cpu = td.cpu ?? sum((c) => c.cpu ?? 0);
  const memory = td.memory ?? sum((c) => c.memoryReservation ?? c.memory ?? 0);
  const tcp = new Set<number>();
  const udp = new Set<number>();
  const mode = networkModeOf(td);
  for (const c of td.containerDefinitions) {
    for (const pm of c.portMappings ?? []) {
      const hostPort = hostPortOf(mode, pm);
      if (hostPort > 0) (pm.protocol === "udp" ? udp : tcp).add(hostPort);
    }
  }
  const gpus = td.containerDefinitions.reduce((n, c) => n + containerGpuCount(c), 0);
  return { cpu, memory, tcpPorts: [...tcp], udpPorts: [...udp], ...(gpus > 0 ? { gpus } : {}) };
}

/** Number of dynamic host ports (bridge mode, hostPort 0 or absent) the task needs, per protocol. */
export function dynamicPortCount(td: TaskDefinitionSpec): { tcp: number; udp: number } {
  const out = { tcp: 0, udp: 0 };
  if (networkModeOf(td) !== "bridge") return out;
  for (const c of td.containerDefinitions) for (const pm of c.portMappings ?? []) if (!pm.hostPort) out[pm.protocol]++;
  return out;
}
