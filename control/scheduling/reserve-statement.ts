import type { InStatement } from "@libsql/client";
import { getTableName } from "drizzle-orm";
import type { Reservation } from "../../shared/task-definition/index.ts";
import { containerInstances } from "../db/schema.ts";

const c = {
  id: containerInstances.id.name,
  usedCpu: containerInstances.usedCpu.name,
  usedMemory: containerInstances.usedMemory.name,
  usedPorts: containerInstances.usedPorts.name,
  version: containerInstances.version.name,
  status: containerInstances.status.name,
  agentConnected: containerInstances.agentConnected.name,
};

/**
 * One UPDATE that reserves `tasksPerInstance` tasks of `reservation` on each instance, but only
 * where the row still has the version placement saw and is still ACTIVE and connected. The commit
 * succeeds only if rowsAffected equals the number of instances; anything less means a concurrent
 * change (another caller, another control process, a drain or disconnect) and the caller rolls back.
 * One statement per RunTask rather than one per task: statement preparation and the round trip
 * through the driver, not SQLite, dominate the commit's cost.
 */
export function reserveStatement(reservation: Reservation, tasksPerInstance: Map<string, number>, expectedVersions: Map<string, number>): InStatement {
  const ids = [...tasksPerInstance.keys()];
  const args: (string | number)[] = [];
  const multiplier = () => {
    // Spread placements put one task per instance; then no CASE is needed.
    if (ids.every((id) => tasksPerInstance.get(id) === 1)) return "1";
    const whens = ids.map((id) => {
      args.push(id, tasksPerInstance.get(id)!);
      return "WHEN ? THEN ?";
    });
    return `(CASE ${c.id} ${whens.join(" ")} END)`;
  };
  let set = `${c.usedCpu} = ${c.usedCpu} + ? * ${(args.push(reservation.cpu), multiplier())}`;
  set += `, ${c.usedMemory} = ${c.usedMemory} + ? * ${(args.push(reservation.memory), multiplier())}`;
  // Ports are rare; the JSON rewrite of used_ports runs only when this reservation has any. The
  // engine never puts two tasks with the same static port on one instance, so the union is the
  // same for every row.
  if (reservation.tcpPorts.length || reservation.udpPorts.length) {
    set += `, ${c.usedPorts} = json_object('tcp', json(${portsUnion("tcp", reservation.tcpPorts, args)}), 'udp', json(${portsUnion("udp", reservation.udpPorts, args)}))`;
  }
  set += `, ${c.version} = ${c.version} + 1`;
  const idList = ids.map((id) => (args.push(id), "?")).join(", ");
  const versionCase = ids.map((id) => (args.push(id, expectedVersions.get(id)!), "WHEN ? THEN ?")).join(" ");
  const sqlText =
    `UPDATE ${getTableName(containerInstances)} SET ${set} ` +
    `WHERE ${c.id} IN (${idList}) AND ${c.version} = (CASE ${c.id} ${versionCase} END) ` +
    `AND ${c.status} = 'ACTIVE' AND ${c.agentConnected} = 1`;
  return { sql: sqlText, args };
}

function portsUnion(proto: "tcp" | "udp", add: number[], args: (string | number)[]): string {
  const current = `json_extract(${c.usedPorts}, '$.${proto}')`;
  if (add.length === 0) return current;
  args.push(JSON.stringify(add));
  return `(select json_group_array(value) from (select value from json_each(${current}) union select value from json_each(?)))`;
}

/**
 * The same reservation for one instance, as SQL prepared once and run per chosen instance with
 * `reserveOneArgs`: success is one changed row. `withPorts` adds the used_ports rewrite (the
 * union of what the instance holds and the task's static ports); plain tasks skip the JSON work.
 */
export function reserveOneSql(withPorts: boolean): string {
  const ports = withPorts
    ? `, ${c.usedPorts} = json_object('tcp', json(${unionWith("tcp", "?5")}), 'udp', json(${unionWith("udp", "?6")}))`
    : "";
  return (
    `UPDATE ${getTableName(containerInstances)} SET ${c.usedCpu} = ${c.usedCpu} + ?1, ${c.usedMemory} = ${c.usedMemory} + ?2` +
    `${ports}, ${c.version} = ${c.version} + 1 ` +
    `WHERE ${c.id} = ?3 AND ${c.version} = ?4 AND ${c.status} = 'ACTIVE' AND ${c.agentConnected} = 1`
  );
}

export function reserveOneArgs(reservation: Reservation, tasks: number, instanceId: string, expectedVersion: number): (string | number)[] {
  const args: (string | number)[] = [reservation.cpu * tasks, reservation.memory * tasks, instanceId, expectedVersion];
  if (reservation.tcpPorts.length || reservation.udpPorts.length) args.push(JSON.stringify(reservation.tcpPorts), JSON.stringify(reservation.udpPorts));
  return args;
}

function unionWith(proto: "tcp" | "udp", param: string): string {
  return `(select json_group_array(value) from (select value from json_each(json_extract(${c.usedPorts}, '$.${proto}')) union select value from json_each(${param})))`;
}
