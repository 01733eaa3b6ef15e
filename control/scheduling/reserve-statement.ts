import { getTableName } from "drizzle-orm";
import type { Reservation } from "../../shared/task-definition/index.ts";
import { containerInstances } from "../db/schema.ts";

const c = {
  id: containerInstances.id.name,
  usedCpu: containerInstances.usedCpu.name,
  usedMemory: containerInstances.usedMemory.name,
  usedPorts: containerInstances.usedPorts.name,
  usedGpus: containerInstances.usedGpus.name,
  version: containerInstances.version.name,
  status: containerInstances.status.name,
  agentConnected: containerInstances.agentConnected.name,
};

/**
 * The reservation of placed tasks on one instance, as SQL prepared once and run per chosen
 * instance with `reserveOneArgs`, but only where the row still has the version placement saw and
 * is still ACTIVE and connected: success is one changed row; anything less means a concurrent
 * change (another caller, another control process, a drain or disconnect). `withPorts` adds the
 * used_ports rewrite (the union of what the instance holds and the task's static ports; the
 * engine never puts two tasks with the same static port on one instance); plain tasks skip the
 * JSON work. `withGpus` (which implies the ports rewrite, with empty lists when the task has no
 * static ports) adds the claimed GPU ids to used_gpus, and refuses the row if any of them is held
 * already: the version check alone rules that out, this makes a mistake a conflict, not a GPU
 * given twice.
 */
export function reserveOneSql(withPorts: boolean, withGpus = false): string {
  const ports =
    withPorts || withGpus
      ? `, ${c.usedPorts} = json_object('tcp', json(${unionWith("tcp", "?5")}), 'udp', json(${unionWith("udp", "?6")}))`
      : "";
  const gpus = withGpus
    ? `, ${c.usedGpus} = (select json_group_array(value) from (select value from json_each(${c.usedGpus}) union all select value from json_each(?7)))`
    : "";
  const gpusFree = withGpus ? ` AND NOT EXISTS (select 1 from json_each(${c.usedGpus}) where value in (select value from json_each(?7)))` : "";
  return (
    `UPDATE ${getTableName(containerInstances)} SET ${c.usedCpu} = ${c.usedCpu} + ?1, ${c.usedMemory} = ${c.usedMemory} + ?2` +
    `${ports}${gpus}, ${c.version} = ${c.version} + 1 ` +
    `WHERE ${c.id} = ?3 AND ${c.version} = ?4 AND ${c.status} = 'ACTIVE' AND ${c.agentConnected} = 1${gpusFree}`
  );
}

export function reserveOneArgs(reservation: Reservation, tasks: number, instanceId: string, expectedVersion: number, gpuIds?: readonly string[]): (string | number)[] {
  const args: (string | number)[] = [reservation.cpu * tasks, reservation.memory * tasks, instanceId, expectedVersion];
  if (reservation.tcpPorts.length || reservation.udpPorts.length || gpuIds?.length) args.push(JSON.stringify(reservation.tcpPorts), JSON.stringify(reservation.udpPorts));
  if (gpuIds?.length) args.push(JSON.stringify(gpuIds));
  return args;
}

function unionWith(proto: "tcp" | "udp", param: string): string {
  return `(select json_group_array(value) from (select value from json_each(json_extract(${c.usedPorts}, '$.${proto}')) union select value from json_each(${param})))`;
}
