import { and, eq, gte, inArray, ne, sql } from "drizzle-orm";
import { arn } from "../../shared/arn.ts";
import { FLOTILLA_VERSION as CONTROL_VERSION } from "../../shared/version.ts";
import { agentVersionSkew } from "../../shared/agent-version-skew.ts";
import { AGENT_VERSION_SKEW_ATTRIBUTE } from "../placement/attribute-names.ts";
import type { HostFacts, InstanceHealth, Presence } from "../../shared/messages.ts";
import type { InstanceRow } from "../db/rows.ts";
import { activations, clusters, containerInstances, tasks } from "../db/schema.ts";
import { hashSecret, newId, newSecret, secretMatches } from "../ids.ts";
import { checkActivation, registrationCluster } from "./activations.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import { resourceRef } from "./references.ts";
import { parseInput } from "./validate.ts";
import { z } from "zod";
import { appendEvents } from "../events/log.ts";
import { instanceStateChange, taskStateChange } from "../events/shapes.ts";
import type { Db } from "../db/open.ts";
import { compileExpression, MAX_EXPRESSION_LENGTH } from "../placement/index.ts";

export type Registration =
  | { ok: true; instance: InstanceRow; password: string }
  | { ok: false; reason: string };

/**
 * Registers a new container instance with an activation. The activation is checked and its count
 * raised in the same serialized section as the insert, so a limit of N admits exactly N.
 */
export async function registerContainerInstance(
  ctx: OpsContext,
  activationId: string,
  activationCode: string,
  facts: HostFacts,
  /** The cluster the agent names (--cluster); an activation bound to another one refuses it. */
  requestedCluster?: string,
): Promise<Registration> {
  return ctx.serialize(async () => {
    const check = await checkActivation(ctx, activationId, activationCode);
    if (!check.ok) return check;
    const target = registrationCluster(check.row, requestedCluster);
    if (!target.ok) return target;
    const cluster = await ensureRegistrationCluster(ctx, target.cluster);
    if (!cluster.ok) return cluster;
    const clusterName = target.cluster;
    const id = newId();
    const password = newSecret();
    const now = ctx.clock.now();
    const row: InstanceRow = {
      id,
      clusterName,
      arn: arn.containerInstance(clusterName, id),
      status: "ACTIVE",
      activationId,
      credentialHash: hashSecret(password),
      hostname: facts.hostname,
      agentConnected: false,
      connectionEpoch: 0,
      registeredCpu: facts.resources.cpu,
      registeredMemory: facts.resources.memory,
      usedCpu: 0,
      usedMemory: 0,
      usedPorts: { tcp: [], udp: [] },
      registeredGpus: facts.resources.gpus ?? [],
      usedGpus: [],
      attributes: withVersionSkew({ ...facts.attributes, "ecs.instance-id": id }, facts),
      agentAttributeNames: Object.keys(facts.attributes),
      versionInfo: facts.versionInfo,
      addresses: facts.addresses ?? null,
      desiredGeneration: 0,
      reportedGeneration: 0,
      version: 0,
      registeredAt: now,
      lastSeenAt: now,
      healthStatus: null,
      healthDetails: null,
      hostMetrics: null,
      healthUpdatedAt: null,
      agentUpdateStatus: null,
      agentUpdateVersion: null,
      agentUpdateReason: null,
      agentUpdateAt: null,
    };
    // The count is re-checked in the write transaction: several control processes (HA) share the
    // database, and ctx.serialize only orders this one.
    const admitted = await ctx.db.transaction(async (tx) => {
      const res = await tx
        .update(activations)
        .set({ registrationsCount: sql`${activations.registrationsCount} + 1` })
        .where(and(eq(activations.id, activationId), sql`${activations.registrationsCount} < ${activations.registrationLimit}`));
      if (res.rowsAffected === 0) return false;
      await tx.insert(containerInstances).values(row);
      await appendEvents(tx, now, [
        instanceStateChange(row, now),
        {
          detailType: "Flotilla Activation Used",
          clusterName: row.clusterName,
          instanceId: id,
          resources: [row.arn],
          detail: { activationId, containerInstanceArn: row.arn, registrationsCount: check.row.registrationsCount + 1, registrationLimit: check.row.registrationLimit },
        },
      ]);
      return true;
    });
    if (!admitted) return { ok: false, reason: "activation registration limit reached" };
    ctx.eventSignal?.notify();
    ctx.indexes.instanceChanged(id);
    ctx.changes?.emit({ kind: "instance", instanceId: id });
    return { ok: true, instance: row, password };
  });
}

/**
 * The cluster must be ACTIVE; like amazon-ecs-agent, registering into "default" creates it when
 * missing (any other name must exist: ECS answers ClusterNotFoundException).
 */
async function ensureRegistrationCluster(ctx: OpsContext, name: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const row = await ctx.db.select().from(clusters).where(eq(clusters.name, name)).get();
  if (row?.status === "ACTIVE") return { ok: true };
  if (name !== "default") return { ok: false, reason: `cluster "${name}" not found (ClusterNotFoundException)` };
  await ctx.db
    .insert(clusters)
    .values({ name, arn: arn.cluster(name), status: "ACTIVE", createdAt: ctx.clock.now() })
    .onConflictDoUpdate({ target: clusters.name, set: { status: "ACTIVE", createdAt: ctx.clock.now() } });
  return { ok: true };
}

/** Checks an instance's MQTT credential; only ACTIVE or DRAINING instances may connect. */
export async function authenticateInstance(ctx: OpsContext, id: string, password: string): Promise<InstanceRow | null> {
  const row = await ctx.db.select().from(containerInstances).where(eq(containerInstances.id, id)).get();
  if (!row || row.status === "INACTIVE" || !secretMatches(password, row.credentialHash)) return null;
  return row;
}

const listInstancesQuery = z.object({
  /** ECS's cluster query language, as in memberOf placement constraints. */
  filter: z.string().max(MAX_EXPRESSION_LENGTH).superRefine((expression, c) => {
    const compiled = compileExpression(expression);
    if (!compiled.ok) c.addIssue({ code: "custom", message: compiled.error.message });
  }).optional(),
  status: z.enum(["ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"]).optional(),
});

/**
 * ListContainerInstances: every instance but INACTIVE ones (ECS's default), oldest first; `status`
 * keeps one status, `filter` those its cluster query language expression holds for, evaluated
 * by the placement engine's own evaluator on the placement store's view of the instances (so
 * `task:group`, `runningTasksCount` and attributes mean what they mean to memberOf).
 */
export async function listContainerInstances(ctx: OpsContext, cluster: string, query: unknown = {}): Promise<InstanceRow[]> {
  const q = parseInput(listInstancesQuery, query);
  const c = await requireCluster(ctx, cluster);
  const rows = await ctx.db
    .select()
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, c.name), ne(containerInstances.status, "INACTIVE")))
    // Id breaks ties so the order, and so ECS's paging over it, is stable.
    .orderBy(containerInstances.registeredAt, containerInstances.id)
    .all();
  const byStatus = q.status ? rows.filter((r) => r.status === q.status) : rows;
  if (q.filter === undefined) return byStatus;
  const compiled = compileExpression(q.filter);
  if (!compiled.ok) return [];
  const holds = new Set(ctx.placement.cluster(c.name).filter((v) => compiled.predicate(v)).map((v) => v.id));
  return byStatus.filter((r) => holds.has(r.id));
}

/** The cluster's instances with these ids (any status): one query, for pages that name many hosts. */
/** The hostnames of some instances of a cluster, by id (a page naming the hosts of its tasks). */
export async function instanceHostnames(ctx: OpsContext, cluster: string, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await ctx.db
    .select({ id: containerInstances.id, hostname: containerInstances.hostname })
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, cluster), inArray(containerInstances.id, [...ids])))
    .all();
  return new Map(rows.map((r) => [r.id, r.hostname]));
}

export async function requireInstance(ctx: OpsContext, cluster: string, idOrArn: string): Promise<InstanceRow> {
  const c = await requireCluster(ctx, cluster);
  const { name: id, cluster: arnCluster } = resourceRef("container-instance", "containerInstance", idOrArn);
  // Ids are unique, and the row's cluster is checked; an ARN naming another cluster is refused too.
  const row =
    arnCluster === undefined || arnCluster === c.name
      ? await ctx.db.select().from(containerInstances).where(and(eq(containerInstances.id, id), eq(containerInstances.clusterName, c.name))).get()
      : undefined;
  if (!row) throw notFound("InvalidParameterException", `container instance "${id}" not found in cluster "${c.name}"`);
  return row;
}

export async function instanceTaskCounts(ctx: OpsContext, instanceId: string) {
  const rows = await ctx.db
    .select({ lastStatus: tasks.lastStatus })
    .from(tasks)
    .where(and(eq(tasks.instanceId, instanceId), ne(tasks.lastStatus, "STOPPED")))
    .all();
  const running = rows.filter((r) => r.lastStatus === "RUNNING").length;
  return { runningTasksCount: running, pendingTasksCount: rows.length - running };
}

/**
 * Applies a presence message. Epochs order connections: an "offline" (often the last will of a
 * connection already replaced) only counts when it is about the current or a newer connection.
 */
export async function applyPresence(ctx: OpsContext, instanceId: string, p: Presence): Promise<boolean> {
  return ctx.serialize(async () => {
    const now = ctx.clock.now();
    const res = await ctx.db.transaction(async (tx) => {
      const before = await tx.select({ connected: containerInstances.agentConnected }).from(containerInstances).where(eq(containerInstances.id, instanceId)).get();
      const updated = await tx
        .update(containerInstances)
        .set({ agentConnected: p.connected, connectionEpoch: p.epoch, lastSeenAt: now })
        .where(
          and(
            eq(containerInstances.id, instanceId),
            p.connected ? sql`${containerInstances.connectionEpoch} < ${p.epoch}` : gte(sql`${p.epoch}`, containerInstances.connectionEpoch),
          ),
        );
      // A (dis)connection is an event; a newer connection of an already connected agent is not.
      if (updated.rowsAffected > 0 && before?.connected !== p.connected) await instanceEvent(tx, instanceId, now);
      return updated;
    });
    if (res.rowsAffected > 0) {
      ctx.eventSignal?.notify();
      ctx.indexes.instanceChanged(instanceId);
      ctx.changes?.emit({ kind: "instance", instanceId });
    }
    return res.rowsAffected > 0;
  });
}

/** The control's own word on the agent's version (agent-upgrades.md): an attribute only when it is behind. */
function withVersionSkew(attributes: Record<string, string>, facts: HostFacts): Record<string, string> {
  delete attributes[AGENT_VERSION_SKEW_ATTRIBUTE];
  const skew = agentVersionSkew(facts.versionInfo.agentVersion, CONTROL_VERSION);
  if (skew === "one-minor-behind" || skew === "too-old") attributes[AGENT_VERSION_SKEW_ATTRIBUTE] = skew;
  return attributes;
}

/** Refreshes host facts the agent reported; registered resources follow the host. */
export async function applyFacts(ctx: OpsContext, instanceId: string, facts: HostFacts): Promise<void> {
  const changed = await ctx.serialize(async () => {
    const row = await ctx.db.select().from(containerInstances).where(eq(containerInstances.id, instanceId)).get();
    if (!row) return false;
    // Custom attributes set through the API survive; agent-owned ones are replaced, and those the
    // agent no longer reports (an --attribute flag removed) go.
    const kept = { ...row.attributes };
    for (const name of row.agentAttributeNames ?? []) if (!(name in facts.attributes)) delete kept[name];
    const attributes = withVersionSkew({ ...kept, ...facts.attributes, "ecs.instance-id": row.id }, facts);
    const next = {
      hostname: facts.hostname,
      registeredCpu: facts.resources.cpu,
      registeredMemory: facts.resources.memory,
      // GPUs follow the host too; ids tasks hold stay held (in used_gpus) until those tasks stop.
      registeredGpus: facts.resources.gpus ?? [],
      attributes,
      agentAttributeNames: Object.keys(facts.attributes),
      versionInfo: facts.versionInfo,
      addresses: facts.addresses ?? null,
    };
    // The same facts again (every reconnect and resync re-sends them): writing would only bump the
    // version, failing placements made meanwhile, and refresh the scheduling index for nothing.
    if (sameValues(row, next)) return false;
    await ctx.db
      .update(containerInstances)
      .set({ ...next, version: sql`${containerInstances.version} + 1` })
      .where(eq(containerInstances.id, instanceId));
    return true;
  });
  if (changed) {
    ctx.indexes.instanceChanged(instanceId);
    ctx.changes?.emit({ kind: "instance", instanceId });
  }
}

/**
 * Records an agent's health reading (ECS healthStatus plus light host metrics). It bumps the row
 * version: an instance that turned IMPAIRED must not get a placement made before the reading.
 */
export async function applyHealth(ctx: OpsContext, instanceId: string, health: InstanceHealth): Promise<void> {
  const changed = await ctx.serialize(async () => {
    const row = await ctx.db
      .select({ checkedAt: containerInstances.healthUpdatedAt, status: containerInstances.healthStatus })
      .from(containerInstances)
      .where(eq(containerInstances.id, instanceId))
      .get();
    // The reading already recorded, sent again by a reconnect or a resync: nothing to write.
    if (!row || (row.checkedAt === health.checkedAt && row.status === health.overallStatus)) return false;
    await ctx.db.transaction(async (tx) => {
      await tx
        .update(containerInstances)
        .set({
          healthStatus: health.overallStatus,
          healthDetails: health.details,
          hostMetrics: Object.fromEntries(Object.entries(health.metrics).filter(([, v]) => v !== undefined)) as Record<string, number>,
          healthUpdatedAt: health.checkedAt,
          version: sql`${containerInstances.version} + 1`,
        })
        .where(eq(containerInstances.id, instanceId));
      // A new reading of the same status is not a state change.
      if (row.status !== health.overallStatus) await instanceEvent(tx, instanceId, ctx.clock.now());
    });
    if (row.status !== health.overallStatus) ctx.eventSignal?.notify();
    return true;
  });
  if (changed) {
    ctx.indexes.instanceChanged(instanceId);
    ctx.changes?.emit({ kind: "instance", instanceId });
  }
}

/** Each of `next`'s fields equals the row's (JSON values by content; key order does not matter). */
function sameValues(row: Record<string, unknown>, next: Record<string, unknown>): boolean {
  return Object.entries(next).every(([k, v]) => Bun.deepEquals(row[k] ?? null, v));
}

/** An embedded broker starts empty: nobody is connected until they say so again. */
export async function markAllDisconnected(ctx: OpsContext): Promise<void> {
  await ctx.serialize(async () => {
    const now = ctx.clock.now();
    const rows = await ctx.db.transaction(async (tx) => {
      const changed = await tx.update(containerInstances).set({ agentConnected: false }).where(eq(containerInstances.agentConnected, true)).returning();
      await appendEvents(tx, now, changed.map((r) => instanceStateChange(r, now)));
      return changed;
    });
    if (rows.length > 0) ctx.eventSignal?.notify();
    for (const r of rows) {
      ctx.indexes.instanceChanged(r.id);
      ctx.changes?.emit({ kind: "instance", instanceId: r.id });
    }
  });
}

/** UpdateContainerInstancesState's input: ECS allows only ACTIVE and DRAINING. */
export const instanceStatusInput = z.strictObject({ status: z.enum(["ACTIVE", "DRAINING"]) });

/**
 * UpdateContainerInstancesState: DRAINING instances get no new tasks (services move theirs away);
 * ACTIVE takes them again. Bumps the version so an in-flight placement on a stale snapshot loses.
 */
export async function updateInstanceStatus(ctx: OpsContext, cluster: string, idOrArn: string, input: unknown): Promise<InstanceRow> {
  const { status } = parseInput(instanceStatusInput, input);
  const row = await requireInstance(ctx, cluster, idOrArn);
  if (row.status === "INACTIVE") throw conflict("ClientException", `container instance "${row.id}" is deregistered`);
  return ctx.serialize(async () => {
    await ctx.db.transaction(async (tx) => {
      await tx
        .update(containerInstances)
        .set({ status, version: sql`${containerInstances.version} + 1` })
        .where(eq(containerInstances.id, row.id));
      if (row.status !== status) await instanceEvent(tx, row.id, ctx.clock.now());
    });
    ctx.eventSignal?.notify();
    ctx.indexes.instanceChanged(row.id);
    ctx.changes?.emit({ kind: "instance", instanceId: row.id });
    // Draining moves service tasks: let the scheduler act now rather than on its next round.
    ctx.servicesChanged?.();
    return (await ctx.db.select().from(containerInstances).where(eq(containerInstances.id, row.id)).get())!;
  });
}

export const DEREGISTERED_REASON = "Container instance was deregistered";

/**
 * DeregisterContainerInstance: the instance becomes INACTIVE and its credential is wiped (the
 * broker refuses it from now on); its unfinished tasks are recorded STOPPED with a reason and their
 * reservations released. The caller drops the live broker connection. With `force: false` (ECS's
 * default) an instance with tasks that are not STOPPED is refused instead.
 */
export async function deregisterContainerInstance(
  ctx: OpsContext,
  cluster: string,
  idOrArn: string,
  { force = true }: { force?: boolean } = {},
): Promise<{ row: InstanceRow; stoppedTasks: number }> {
  const found = await requireInstance(ctx, cluster, idOrArn);
  return ctx.serialize(async () => {
    const now = ctx.clock.now();
    // ECS refuses without force while the instance has tasks; REST has always deregistered with them.
    if (!force) {
      const live = await ctx.db.select({ id: tasks.id }).from(tasks).where(and(eq(tasks.instanceId, found.id), ne(tasks.lastStatus, "STOPPED"))).limit(1).all();
      if (live.length > 0) throw invalid("Found running tasks on the instance.", [{ path: "force", message: "required while the instance has tasks that are not stopped" }]);
    }
    let stoppedTasks = 0;
    await ctx.db.transaction(async (tx) => {
      await tx
        .update(containerInstances)
        .set({
          status: "INACTIVE",
          credentialHash: "revoked",
          agentConnected: false,
          usedCpu: 0,
          usedMemory: 0,
          usedPorts: { tcp: [], udp: [] },
          usedGpus: [],
          version: sql`${containerInstances.version} + 1`,
        })
        .where(eq(containerInstances.id, found.id));
      const stopped = await tx
        .update(tasks)
        .set({
          desiredStatus: "STOPPED",
          lastStatus: "STOPPED",
          reserved: false,
          stoppedAt: now,
          updatedAt: now,
          stoppedReason: sql`coalesce(${tasks.stoppedReason}, ${DEREGISTERED_REASON})`,
          stopCode: sql`coalesce(${tasks.stopCode}, 'UserInitiated')`,
        })
        .where(and(eq(tasks.instanceId, found.id), ne(tasks.lastStatus, "STOPPED")))
        .returning();
      stoppedTasks = stopped.length;
      await appendEvents(tx, now, stopped.map(taskStateChange));
      await instanceEvent(tx, found.id, now);
    });
    ctx.eventSignal?.notify();
    const row = await ctx.db.select().from(containerInstances).where(eq(containerInstances.id, found.id)).get();
    ctx.changes?.emit({ kind: "instance", instanceId: found.id });
    return { row: row!, stoppedTasks };
  });
}

/** Called after DeregisterContainerInstance: the broker drops the agent's session and credential. */
export type InstanceRevoked = (instanceId: string) => Promise<void> | void;

/** Appends the instance's state change event as the row now stands, on the writer's own transaction. */
async function instanceEvent(tx: Pick<Db, "select" | "insert">, instanceId: string, at: number): Promise<void> {
  const row = await tx.select().from(containerInstances).where(eq(containerInstances.id, instanceId)).get();
  if (row) await appendEvents(tx, at, [instanceStateChange(row, at)]);
}
