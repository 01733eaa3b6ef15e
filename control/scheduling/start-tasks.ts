import { and, eq, sql } from "drizzle-orm";
import { arn } from "../../shared/arn.ts";
import { taskReservation, type Reservation, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { containerInstances, tasks } from "../db/schema.ts";
import { newId } from "../ids.ts";
import type { OpsContext } from "../ops/context.ts";
import type { TaskDefinitionRow } from "../ops/task-definitions.ts";
import { placeTasks, type PlacementConstraint, type PlacementStrategy, type RequiredAttribute } from "../placement/index.ts";

export type TaskRow = typeof tasks.$inferSelect;

/** ECS-shaped container entry stored on a task. */
export interface TaskContainer {
  name: string;
  image: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
}

export interface StartTasksRequest {
  clusterName: string;
  taskDefinition: TaskDefinitionRow;
  count: number;
  group: string;
  startedBy?: string;
  serviceName?: string;
  deploymentId?: string;
  constraints?: PlacementConstraint[];
  strategies?: PlacementStrategy[];
}

export interface StartTasksResult {
  tasks: TaskRow[];
  failures: { arn: string; reason: string; detail: string }[];
}

const COMMIT_ATTEMPTS = 8;

/** ECS capability attributes that ECS itself adds to definitions; Flotilla agents satisfy them. */
function enforcedAttributes(spec: TaskDefinitionSpec): RequiredAttribute[] {
  const req = (spec as { requiresAttributes?: { name: string; value?: string }[] }).requiresAttributes ?? [];
  return req.filter((a) => !/^(com\.amazonaws\.)?ecs\.capability\./.test(a.name)).map((a) => ({ name: a.name, value: a.value }));
}

function definitionConstraints(spec: TaskDefinitionSpec): PlacementConstraint[] {
  const pcs = (spec as { placementConstraints?: { type: string; expression?: string }[] }).placementConstraints ?? [];
  return pcs.filter((p) => p.type === "memberOf" && p.expression).map((p) => ({ type: "memberOf", expression: p.expression! }));
}

/**
 * Places and commits new tasks: the one path RunTask and the service scheduler share. Placement
 * runs on the cached cluster index; the commit bumps each chosen instance's version only if it is
 * still the version placement saw (and the instance is still ACTIVE and connected), so concurrent
 * callers — or a second control process — never oversubscribe an instance. A lost race refreshes
 * the instances involved and places again.
 */
export async function startTasks(ctx: OpsContext, req: StartTasksRequest): Promise<StartTasksResult> {
  const td = req.taskDefinition;
  const spec = td.spec as TaskDefinitionSpec;
  const reservation = taskReservation(spec);
  const arch = (spec as { runtimePlatform?: { cpuArchitecture?: "X86_64" | "ARM64" } }).runtimePlatform?.cpuArchitecture;
  const request = {
    count: req.count,
    reservation,
    group: req.group,
    constraints: [...definitionConstraints(spec), ...(req.constraints ?? [])],
    strategies: req.strategies ?? [],
    requiredAttributes: enforcedAttributes(spec),
    cpuArchitecture: arch,
  };

  for (let attempt = 1; ; attempt++) {
    const outcome = await ctx.serialize(async () => {
      const index = await ctx.indexes.get(req.clusterName);
      const result = placeTasks(index, request);
      const now = ctx.clock.now();
      const rows = result.placements.map((p) => newTaskRow(req, spec, reservation, p.instanceId, now));
      const versions = new Map(result.placements.map((p) => [p.instanceId, index.get(p.instanceId)!.version]));
      const conflicts: string[] = [];
      const committed = await ctx.db
        .transaction(async (tx) => {
          for (const row of rows) {
            const expected = versions.get(row.instanceId)!;
            const res = await tx
              .update(containerInstances)
              .set({
                usedCpu: sql`${containerInstances.usedCpu} + ${reservation.cpu}`,
                usedMemory: sql`${containerInstances.usedMemory} + ${reservation.memory}`,
                usedPorts: sql`json_object('tcp', json(${portsAfterReserve("tcp", reservation)}), 'udp', json(${portsAfterReserve("udp", reservation)}))`,
                version: expected + 1,
              })
              .where(
                and(
                  eq(containerInstances.id, row.instanceId),
                  eq(containerInstances.version, expected),
                  eq(containerInstances.status, "ACTIVE"),
                  eq(containerInstances.agentConnected, true),
                ),
              );
            if (res.rowsAffected !== 1) {
              conflicts.push(row.instanceId);
              tx.rollback();
            }
            versions.set(row.instanceId, expected + 1);
          }
          if (rows.length) await tx.insert(tasks).values(rows);
          return true;
        })
        .catch((e: unknown) => {
          if (e instanceof Error && e.name === "TransactionRollbackError") return false;
          throw e;
        });
      if (!committed) {
        for (const id of conflicts) ctx.indexes.instanceChanged(id);
        return null;
      }
      for (const row of rows) {
        const v = index.get(row.instanceId)!.version + 1;
        index.reserve(row.instanceId, reservation, req.group, v);
      }
      return { rows, failures: result.failures };
    });
    if (outcome) {
      for (const id of new Set(outcome.rows.map((r) => r.instanceId))) ctx.desiredChanged(id);
      return {
        tasks: outcome.rows,
        failures: outcome.failures.map((f) => ({ arn: td.arn, reason: f.reason, detail: f.detail })),
      };
    }
    if (attempt >= COMMIT_ATTEMPTS) throw new Error("placement commit kept conflicting with concurrent changes; try again");
  }
}

function newTaskRow(req: StartTasksRequest, spec: TaskDefinitionSpec, reservation: Reservation, instanceId: string, now: number): TaskRow {
  const id = newId();
  const td = req.taskDefinition;
  return {
    id,
    clusterName: req.clusterName,
    arn: arn.task(req.clusterName, id),
    instanceId,
    family: td.family,
    revision: td.revision,
    taskDefinitionArn: td.arn,
    group: req.group,
    startedBy: req.startedBy ?? null,
    serviceName: req.serviceName ?? null,
    deploymentId: req.deploymentId ?? null,
    healthStatus: "UNKNOWN",
    desiredStatus: "RUNNING",
    lastStatus: "PROVISIONING",
    containers: spec.containerDefinitions.map((cd): TaskContainer => ({ name: cd.name, image: cd.image, lastStatus: "PENDING" })),
    reservation,
    reserved: true,
    createdAt: now,
    startedAt: null,
    stoppingAt: null,
    stoppedAt: null,
    stoppedReason: null,
    stopCode: null,
    updatedAt: now,
  };
}

/** The port list after adding this reservation's ports, computed in SQL against the row at commit. */
function portsAfterReserve(proto: "tcp" | "udp", r: Reservation) {
  const add = proto === "tcp" ? r.tcpPorts : r.udpPorts;
  if (add.length === 0) return sql`json_extract(${containerInstances.usedPorts}, ${"$." + proto})`;
  return sql`(select json_group_array(value) from (select value from json_each(json_extract(${containerInstances.usedPorts}, ${"$." + proto})) union select value from json_each(${JSON.stringify(add)})))`;
}

export function portsAfterRelease(proto: "tcp" | "udp", r: Reservation) {
  const remove = proto === "tcp" ? r.tcpPorts : r.udpPorts;
  if (remove.length === 0) return sql`json_extract(${containerInstances.usedPorts}, ${"$." + proto})`;
  return sql`(select json_group_array(value) from json_each(json_extract(${containerInstances.usedPorts}, ${"$." + proto})) where value not in (select value from json_each(${JSON.stringify(remove)})))`;
}
