import type { Reservation } from "../../shared/task-definition/index.ts";
import type { InstanceSnapshot } from "./snapshot.ts";

export interface PlacementFailure {
  reason: string;
  detail: string;
}

export interface PlacementOutcome {
  placements: { instanceId: string }[];
  failures: PlacementFailure[];
}

/**
 * Walking-skeleton placement: any ACTIVE, connected instance with enough cpu, memory and free
 * static ports, least-loaded first. Replaced by the placement engine (control/placement).
 */
export function placeFirstFit(instances: InstanceSnapshot[], reservation: Reservation, count: number): PlacementOutcome {
  const remaining = new Map(instances.map((i) => [i.id, { ...i.remaining, tcp: new Set(i.usedPorts.tcp), udp: new Set(i.usedPorts.udp) }]));
  const placements: { instanceId: string }[] = [];
  const failures: PlacementFailure[] = [];
  for (let k = 0; k < count; k++) {
    const rejected: Record<string, number> = {};
    const reject = (why: string) => (rejected[why] = (rejected[why] ?? 0) + 1);
    let best: InstanceSnapshot | undefined;
    for (const inst of instances) {
      const r = remaining.get(inst.id)!;
      if (inst.status !== "ACTIVE" || !inst.agentConnected) { reject("AGENT"); continue; }
      if (r.cpu < reservation.cpu) { reject("RESOURCE:CPU"); continue; }
      if (r.memory < reservation.memory) { reject("RESOURCE:MEMORY"); continue; }
      if (reservation.tcpPorts.some((p) => r.tcp.has(p)) || reservation.udpPorts.some((p) => r.udp.has(p))) { reject("RESOURCE:PORTS"); continue; }
      if (!best || r.memory > remaining.get(best.id)!.memory) best = inst;
    }
    if (!best) {
      const [reason] = Object.entries(rejected).sort((a, b) => b[1] - a[1])[0] ?? ["AGENT"];
      failures.push({
        reason,
        detail: instances.length === 0 ? "no container instances in the cluster" : `rejected instances: ${JSON.stringify(rejected)}`,
      });
      continue;
    }
    const r = remaining.get(best.id)!;
    r.cpu -= reservation.cpu;
    r.memory -= reservation.memory;
    reservation.tcpPorts.forEach((p) => r.tcp.add(p));
    reservation.udpPorts.forEach((p) => r.udp.add(p));
    placements.push({ instanceId: best.id });
  }
  return { placements, failures };
}
