import { arn } from "../../shared/arn.ts";
import { gpuIdsByContainer, taskReservation, type Reservation, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { TaskContainer, TaskDefinitionRow, TaskRow } from "../db/rows.ts";
import { newId } from "../ids.ts";
import type { OpsContext } from "./context.ts";
import type { CommitOutcome } from "./commit-job.ts";
import { definitionConstraints, enforcedAttributes } from "./definition-placement.ts";
import { taskPlatform } from "./task-platform.ts";
import { encodeTaskRows, newTaskColumns, type SharedTaskColumns } from "./task-insert.ts";
import { ingressHeldPorts } from "./ingress-ports.ts";
import { placeTasks, type ClusterIndex, type PlacementConstraint, type PlacementRequest, type PlacementStrategy, type RequiredAttribute } from "../placement/index.ts";

export interface StartTasksRequest {
  clusterName: string;
  /** A stored revision (the spec as registerTaskDefinition normalised it). */
  taskDefinition: Pick<TaskDefinitionRow, "arn" | "family" | "revision" | "spec">;
  count: number;
  group: string;
  startedBy?: string;
  serviceName?: string;
  deploymentId?: string;
  constraints?: PlacementConstraint[];
  strategies?: PlacementStrategy[];
  /** RunTask/StartTask overrides and the definition with them applied (what the reservation is taken from). */
  overrides?: { request: Record<string, unknown>; spec: TaskDefinitionSpec };
  /** RunTask's clientToken and the digest of its request (idempotency, ops/tasks.ts). */
  clientToken?: { token: string; request: string };
  /** StartTask: place on this container instance only (see PlacementRequest.onInstance). */
  onInstance?: string;
  /** Only instances this admits (deployment windows); see PlacementRequest.admit. */
  admit?: PlacementRequest["admit"];
}

export interface StartTasksResult {
  tasks: TaskRow[];
  failures: { arn: string; reason: string; detail: string }[];
  /** Tasks were placed, but not everything was checked (images whose platform is unknown). */
  notices: { arn: string; reason: string; detail: string }[];
}

const COMMIT_ATTEMPTS = 8;

/**
 * Places and commits new tasks: the one path RunTask and the service scheduler share. Placement
 * runs on the cached cluster index; the commit bumps each chosen instance's version only if it is
 * still the version placement saw (and the instance is still ACTIVE and connected), so concurrent
 * callers — or a second control process — never oversubscribe an instance. A lost race refreshes
 * the instances involved and places again. The commit runs on the commit worker (ctx.placement,
 * placement-store.ts) while the next caller already places on what is left; the leader's context
 * hands it a fence, proven in the commit's own transaction.
 */
export async function startTasks(ctx: OpsContext, req: StartTasksRequest): Promise<StartTasksResult> {
  const td = req.taskDefinition;
  const spec = req.overrides?.spec ?? (td.spec as TaskDefinitionSpec);
  const reservation = taskReservation(spec);
  // Without runtimePlatform, the images' manifest platforms (when a registry tells) restrict
  // placement; looked up ahead of need and waited for only briefly (image-platforms.ts).
  const platform = await taskPlatform(ctx, td);
  const request = {
    count: req.count,
    reservation,
    group: req.group,
    constraints: [...definitionConstraints(spec), ...(req.constraints ?? [])],
    strategies: req.strategies ?? [],
    requiredAttributes: enforcedAttributes(spec),
    cpuArchitecture: platform.cpuArchitecture,
    onInstance: req.onInstance,
    admit: req.admit,
    heldTcpPorts: await ingressHeldPorts(ctx, req.clusterName, spec, reservation.tcpPorts),
  };

  for (let attempt = 1; ; attempt++) {
    const placed = await ctx.serialize(async () => {
      const index = await ctx.indexes.get(req.clusterName);
      const result = placeTasks(index, request);
      const now = ctx.clock.now();
      const shared = sharedTaskColumns(req, reservation, now);
      const rows = result.placements.map((p): TaskRow => {
        const id = newId();
        // Each row its own containers array: callers may change what they get back. A task given
        // GPUs keeps its ids in its reservation (released on stop) and on its containers (ECS's gpuIds).
        const own = p.gpuIds ? withGpus(spec, reservation, p.gpuIds) : { reservation, containers: pendingContainers(spec) };
        return { ...shared, ...own, id, arn: arn.task(req.clusterName, id), instanceId: p.instanceId };
      });
      const perInstance = new Map<string, number>();
      for (const p of result.placements) perInstance.set(p.instanceId, (perInstance.get(p.instanceId) ?? 0) + 1);
      if (rows.length === 0) return { rows, failures: result.failures, perInstance, commit: Promise.resolve<CommitOutcome>("committed") };
      const gpus = reservation.gpus ? gpusPerInstance(rows) : undefined;
      const encoded = encodeTaskRows(shared, rows, gpus ? rows : undefined);
      // Their state change events are built on the commit worker, from these columns.
      encoded.stateChangeEventsAt = now;
      const commit = ctx.placement.commit(reservation, perInstance, (id) => index.get(id)!.version, encoded, gpus);
      // Booked before anything else runs, so the next caller places on what is left.
      if (gpus) bookEach(index, rows, req.group);
      else book(index, perInstance, reservation, req.group);
      return { rows, failures: result.failures, perInstance, commit };
    });
    let outcome: CommitOutcome;
    try {
      outcome = await placed.commit;
    } catch (e) {
      for (const id of placed.perInstance.keys()) ctx.indexes.instanceChanged(id);
      throw e;
    }
    if (outcome === "committed") {
      if (placed.rows.length > 0) ctx.eventSignal?.notify();
      if (placed.rows.length > 0) ctx.metrics?.placements.inc({ cluster: req.clusterName }, placed.rows.length);
      for (const id of placed.perInstance.keys()) ctx.desiredChanged(id);
      return {
        tasks: placed.rows,
        failures: placed.failures.map((f) => ({ arn: td.arn, reason: f.reason, detail: f.detail })),
        notices: platform.notices,
      };
    }
    // Which instance moved is not known; re-reading all of them (at most ten rows) is cheaper
    // than asking.
    for (const id of placed.perInstance.keys()) ctx.indexes.instanceChanged(id);
    if (attempt >= COMMIT_ATTEMPTS) throw new Error("placement commit kept conflicting with concurrent changes; try again");
    // Another connection (a second control process) holds the write lock: back off a little,
    // outside the serialized section, so it can finish.
    if (outcome === "busy") await Bun.sleep(attempt * (1 + Math.random() * 4));
  }
}

/** Books placed tasks in the index; a commit bumps each instance's version once, however many tasks it got. */
function book(index: ClusterIndex, perInstance: ReadonlyMap<string, number>, reservation: Reservation, group: string): void {
  for (const [id, tasks] of perInstance) {
    const version = index.get(id)!.version + 1;
    for (let k = 0; k < tasks; k++) index.reserve(id, reservation, group, version);
  }
}

/** Books tasks that each hold something of their own (GPU ids) one by one, with their own reservation. */
function bookEach(index: ClusterIndex, rows: readonly TaskRow[], group: string): void {
  const versions = new Map<string, number>();
  for (const r of rows) if (!versions.has(r.instanceId)) versions.set(r.instanceId, index.get(r.instanceId)!.version + 1);
  for (const r of rows) index.reserve(r.instanceId, r.reservation as Reservation, group, versions.get(r.instanceId));
}

/** The GPU ids the rows take on each instance. */
function gpusPerInstance(rows: readonly TaskRow[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const ids = (r.reservation as Reservation).gpuIds ?? [];
    const list = out.get(r.instanceId);
    if (list) list.push(...ids);
    else out.set(r.instanceId, [...ids]);
  }
  return out;
}

/** A task's own reservation and containers once placement chose its GPUs. */
function withGpus(spec: TaskDefinitionSpec, reservation: Reservation, gpuIds: string[]): { reservation: Reservation; containers: TaskContainer[] } {
  const byContainer = gpuIdsByContainer(spec, gpuIds);
  return {
    reservation: { ...reservation, gpuIds },
    containers: pendingContainers(spec).map((c) => {
      const ids = byContainer.get(c.name);
      return ids ? { ...c, gpuIds: ids } : c;
    }),
  };
}

/** The columns all tasks of one call share (everything but id, arn and instance). */
function sharedTaskColumns(req: StartTasksRequest, reservation: Reservation, now: number): SharedTaskColumns & { containers: TaskContainer[] } {
  const td = req.taskDefinition;
  const containers = pendingContainers(req.taskDefinition.spec as TaskDefinitionSpec);
  return {
    ...newTaskColumns(
      {
        clusterName: req.clusterName,
        family: td.family,
        revision: td.revision,
        taskDefinitionArn: td.arn,
        group: req.group,
        startedBy: req.startedBy ?? null,
        serviceName: req.serviceName ?? null,
        deploymentId: req.deploymentId ?? null,
        containers,
        reservation,
        overrides: req.overrides?.request ?? null,
        clientToken: req.clientToken?.token ?? null,
        clientRequest: req.clientToken?.request ?? null,
      },
      now,
    ),
    containers,
  };
}

function pendingContainers(spec: TaskDefinitionSpec): TaskContainer[] {
  return spec.containerDefinitions.map((cd): TaskContainer => ({ name: cd.name, image: cd.image, lastStatus: "PENDING" }));
}
