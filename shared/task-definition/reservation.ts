import { hostPortOf, networkModeOf } from "./network.ts";
import type { TaskDefinitionSpec } from "./schema.ts";

export interface Reservation {
  cpu: number;
  memory: number;
  tcpPorts: number[];
  udpPorts: number[];
}

/**
 * What a task reserves on an instance, as ECS computes it: task-level cpu/memory when given,
 * otherwise the sum over containers (a container counts its memoryReservation when it has one,
 * else its memory). Static host ports are reserved per protocol: in host and awsvpc modes every
 * mapping's containerPort; in bridge mode hostPort when > 0 (0 or absent = dynamic, chosen at
 * start, not reserved here); none mode publishes nothing. Ports are listed once each, in definition order.
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
  return { cpu, memory, tcpPorts: [...tcp], udpPorts: [...udp] };
}

/** Number of dynamic host ports (bridge mode, hostPort 0 or absent) the task needs, per protocol. */
export function dynamicPortCount(td: TaskDefinitionSpec): { tcp: number; udp: number } {
  const out = { tcp: 0, udp: 0 };
  if (networkModeOf(td) !== "bridge") return out;
  for (const c of td.containerDefinitions) for (const pm of c.portMappings ?? []) if (!pm.hostPort) out[pm.protocol]++;
  return out;
}
