import { appendEvents } from "../events/log.ts";
import { deploymentStateChange, serviceAction } from "../events/shapes.ts";
import { and, eq, inArray, ne } from "drizzle-orm";
import { z } from "zod";
import { arn } from "../../shared/arn.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { DeploymentRow, InstanceRow, ServiceEventRow, ServiceRow, TaskContainer, TaskDefinitionRow, TaskRow } from "../db/rows.ts";
import type { Db } from "../db/open.ts";
import { containerInstances, deployments, serviceEvents, services } from "../db/schema.ts";
import { taskDefinitionByArn } from "../services/snapshot.ts";
import { hasHealthChecks, isHealthy } from "../services/task-health.ts";
import { placementConstraintsSchema, placementStrategiesSchema } from "../placement/index.ts";
import { defaultDeploymentConfiguration, type DeploymentConfiguration } from "../services/deployment-math.ts";
import { addServiceEvent, listServiceEvents } from "../services/events.ts";
import { getService, liveDeployments, newDeploymentId, serviceTasks } from "../services/store.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import { enforceClusterPolicy } from "./policy.ts";
import { requireSecretsExist } from "./secrets.ts";
import { launchableTaskDefinition, type ResolvedTaskDefinition } from "./task-definitions.ts";
import { resourceRef } from "./references.ts";
import { clearTags, tagsSchema, writeTags } from "./tag-store.ts";
import { parseInput } from "./validate.ts";
import { checkIngress } from "./ingress.ts";
import { ingressSchema } from "../../shared/ingress.ts";
import { resolveAddressing, storedNaming, withRequestPaths } from "./service-addressing.ts";
import { serviceConnectSchema, serviceRegistriesSchema } from "./service-connect.ts";
import { checkNaming, discoveryInputSchema } from "./service-naming.ts";

/** Default seconds a disconnected instance keeps its service tasks before they are replaced. */
export const DEFAULT_DISCONNECT_GRACE_SECONDS = 30;

const deploymentConfigurationInput = z.strictObject({
  minimumHealthyPercent: z.number().int().min(0).max(100).optional(),
  maximumPercent: z.number().int().min(100).max(2000).optional(),
  deploymentCircuitBreaker: z.strictObject({ enable: z.boolean(), rollback: z.boolean() }).optional(),
  /** Flotilla (docs/deployment-windows.md): may scale-up start tasks on hosts outside their deployment window? */
  windowPolicy: z.strictObject({ allowScaleOutsideWindow: z.boolean() }).optional(),
  /** Flotilla (docs/image-delivery.md): pull the new revision's images on every host before replacing tasks. */
  prefetch: z.boolean().optional(),
});

const serviceName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "must be 1-255 letters, digits, hyphens or underscores");
const graceSeconds = z.number().int().min(0).max(2_147_483_647);
/** -1 = never replace tasks of a disconnected instance. */
const disconnectGrace = z.number().int().min(-1).max(7 * 24 * 3600);

const createServiceInput = z.strictObject({
  serviceName,
  taskDefinition: z.string().min(1),
  desiredCount: z.number().int().min(0).max(10_000).optional(),
  schedulingStrategy: z.enum(["REPLICA", "DAEMON"]).default("REPLICA"),
  launchType: z.enum(["EXTERNAL", "EC2"]).optional(),
  deploymentConfiguration: deploymentConfigurationInput.optional(),
  placementConstraints: placementConstraintsSchema.optional(),
  placementStrategy: placementStrategiesSchema.optional(),
  healthCheckGracePeriodSeconds: graceSeconds.optional(),
  disconnectGracePeriodSeconds: disconnectGrace.optional(),
  tags: tagsSchema.optional(),
  /** Flotilla (docs/ingress.md): ports the hosts publish for the service. */
  ingress: ingressSchema.optional(),
  /** Flotilla (docs/discovery.md, Chosen names): the DNS name and aliases instead of the derived name. */
  discovery: discoveryInputSchema.optional(),
  /** ECS's shapes for the same (ops/service-connect.ts). */
  serviceConnectConfiguration: serviceConnectSchema.optional(),
  serviceRegistries: serviceRegistriesSchema.optional(),
});

const updateServiceInput = z.strictObject({
  desiredCount: z.number().int().min(0).max(10_000).optional(),
  taskDefinition: z.string().min(1).optional(),
  forceNewDeployment: z.boolean().optional(),
  deploymentConfiguration: deploymentConfigurationInput.optional(),
  placementConstraints: placementConstraintsSchema.optional(),
  placementStrategy: placementStrategiesSchema.optional(),
  healthCheckGracePeriodSeconds: graceSeconds.optional(),
  disconnectGracePeriodSeconds: disconnectGrace.optional(),
  /** Flotilla (docs/ingress.md): replaces the service's ingress ([] removes it). */
  ingress: ingressSchema.optional(),
  /** Flotilla: replaces the chosen name and aliases (null or {} goes back to the derived name). */
  discovery: discoveryInputSchema.optional(),
  serviceConnectConfiguration: serviceConnectSchema.optional(),
  serviceRegistries: serviceRegistriesSchema.optional(),
});

function mergeConfiguration(base: DeploymentConfiguration, input?: z.infer<typeof deploymentConfigurationInput>): DeploymentConfiguration {
  return {
    minimumHealthyPercent: input?.minimumHealthyPercent ?? base.minimumHealthyPercent,
    maximumPercent: input?.maximumPercent ?? base.maximumPercent,
    deploymentCircuitBreaker: input?.deploymentCircuitBreaker ?? base.deploymentCircuitBreaker,
    ...((input?.windowPolicy ?? base.windowPolicy) ? { windowPolicy: input?.windowPolicy ?? base.windowPolicy } : {}),
    ...((input?.prefetch ?? base.prefetch) ? { prefetch: true } : {}),
  };
}

async function usableTaskDefinition(ctx: OpsContext, cluster: string, ref: string): Promise<ResolvedTaskDefinition> {
  const td = await launchableTaskDefinition(ctx, ref);
  await enforceClusterPolicy(ctx, cluster, td.spec);
  await requireSecretsExist(ctx, td.spec);
  return td;
}

/**
 * CreateService: stores the service, its first PRIMARY deployment and its tags in one transaction;
 * the scheduler does the rest.
 */
export async function createService(ctx: OpsContext, cluster: string, input: unknown): Promise<ServiceRow> {
  const req = parseInput(createServiceInput, input);
  if (req.schedulingStrategy === "REPLICA" && req.desiredCount === undefined) {
    throw invalid("desiredCount: required for a REPLICA service", [{ path: "desiredCount", message: "required for a REPLICA service" }]);
  }
  if (req.schedulingStrategy === "DAEMON" && req.desiredCount !== undefined) {
    throw invalid("desiredCount: not allowed for a DAEMON service (one task per instance)", [{ path: "desiredCount", message: "not allowed for a DAEMON service" }]);
  }
  if (req.schedulingStrategy === "DAEMON" && req.placementStrategy?.length) {
    throw invalid("placementStrategy: not allowed for a DAEMON service", [{ path: "placementStrategy", message: "not allowed for a DAEMON service" }]);
  }
  const c = await requireCluster(ctx, cluster);
  const td = await usableTaskDefinition(ctx, c.name, req.taskDefinition);
  const cfg = mergeConfiguration(defaultDeploymentConfiguration(req.schedulingStrategy), req.deploymentConfiguration);
  const addressing = resolveAddressing(req, td.spec, c.name, req.serviceName, null);
  const row = await ctx.serialize(async () => {
    const existing = await getService(ctx, c.name, req.serviceName);
    if (existing && existing.status !== "INACTIVE") throw invalid(`serviceName: service "${req.serviceName}" already exists (Creation of service was not idempotent)`, [{ path: "serviceName", message: "already exists" }]);
    await withRequestPaths(addressing, () => checkIngress(ctx, c.name, req.serviceName, addressing.ingress ?? [], td.spec, addressing.naming?.naming.name));
    if (addressing.naming) await checkNaming(ctx, c.name, req.serviceName, addressing.naming);
    const now = ctx.clock.now();
    const row: ServiceRow = {
      clusterName: c.name,
      serviceName: req.serviceName,
      arn: arn.service(c.name, req.serviceName),
      status: "ACTIVE",
      schedulingStrategy: req.schedulingStrategy,
      desiredCount: req.desiredCount ?? 0,
      taskDefinitionArn: td.arn,
      deploymentConfiguration: cfg,
      placementConstraints: req.placementConstraints ?? [],
      placementStrategy: req.placementStrategy ?? [],
      healthCheckGracePeriodSeconds: req.healthCheckGracePeriodSeconds ?? 0,
      disconnectGracePeriodSeconds: req.disconnectGracePeriodSeconds ?? DEFAULT_DISCONNECT_GRACE_SECONDS,
      ingress: addressing.ingress?.length ? addressing.ingress : null,
      discovery: addressing.naming ? storedNaming(addressing.naming.naming) : null,
      createdAt: now,
      updatedAt: now,
    };
    await ctx.db.transaction(async (tx) => {
      if (existing) {
        // Re-creating a deleted service starts from a clean history.
        await tx.delete(services).where(and(eq(services.clusterName, c.name), eq(services.serviceName, req.serviceName)));
        await tx.delete(deployments).where(and(eq(deployments.clusterName, c.name), eq(deployments.serviceName, req.serviceName)));
        await tx.delete(serviceEvents).where(and(eq(serviceEvents.clusterName, c.name), eq(serviceEvents.serviceName, req.serviceName)));
        await clearTags(tx, row.arn);
      }
      await tx.insert(services).values(row);
      await writeTags(tx, row.arn, req.tags ?? []);
      await startPrimaryDeployment(tx, now, row);
    });
    return row;
  });
  ctx.eventSignal?.notify();
  ctx.servicesChanged?.();
  return row;
}

/** A service's new PRIMARY deployment of its current revision and count, with its IN_PROGRESS event. */
async function startPrimaryDeployment(tx: Pick<Db, "insert">, now: number, service: Pick<ServiceRow, "clusterName" | "serviceName" | "taskDefinitionArn" | "desiredCount">): Promise<void> {
  const id = newDeploymentId();
  const { clusterName, serviceName } = service;
  await appendEvents(tx, now, [deploymentStateChange({ id, clusterName, serviceName }, "SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment in progress.", now)]);
  await tx.insert(deployments).values({
    id,
    clusterName,
    serviceName,
    status: "PRIMARY",
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: "ECS deployment in progress.",
    taskDefinitionArn: service.taskDefinitionArn,
    desiredCount: service.desiredCount,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
  });
}

export async function requireService(ctx: OpsContext, cluster: string, nameOrArn: string): Promise<ServiceRow> {
  const c = await requireCluster(ctx, cluster);
  const { name, cluster: arnCluster } = resourceRef("service", "service", nameOrArn);
  // Another cluster's service ARN names no service of this cluster, whatever its name.
  const row = arnCluster === undefined || arnCluster === c.name ? await getService(ctx, c.name, name) : undefined;
  if (!row) throw notFound("ServiceNotFoundException", `service "${name}" not found in cluster "${c.name}"`);
  return row;
}

/** ListServices: ACTIVE and DRAINING services (ECS omits INACTIVE ones). */
export async function listServices(ctx: OpsContext, cluster: string): Promise<ServiceRow[]> {
  const c = await requireCluster(ctx, cluster);
  return ctx.db
    .select()
    .from(services)
    .where(and(eq(services.clusterName, c.name), ne(services.status, "INACTIVE")))
    .orderBy(services.serviceName)
    .all();
}

/**
 * UpdateService: desiredCount and settings apply in place; a new task definition, placement or
 * forceNewDeployment starts a new PRIMARY deployment and the previous ones become ACTIVE (replaced).
 */
export async function updateService(ctx: OpsContext, cluster: string, nameOrArn: string, input: unknown): Promise<ServiceRow> {
  const req = parseInput(updateServiceInput, input);
  const found = await requireService(ctx, cluster, nameOrArn);
  if (found.status !== "ACTIVE") throw conflict("ServiceNotActiveException", `service "${found.serviceName}" is ${found.status}`);
  if (found.schedulingStrategy === "DAEMON" && req.desiredCount !== undefined) {
    throw invalid("desiredCount: not allowed for a DAEMON service", [{ path: "desiredCount", message: "not allowed for a DAEMON service" }]);
  }
  if (found.schedulingStrategy === "DAEMON" && req.placementStrategy?.length) {
    throw invalid("placementStrategy: not allowed for a DAEMON service", [{ path: "placementStrategy", message: "not allowed for a DAEMON service" }]);
  }
  const td = req.taskDefinition ? await usableTaskDefinition(ctx, found.clusterName, req.taskDefinition) : undefined;
  const row = await ctx.serialize(async () => {
    const cur = (await getService(ctx, found.clusterName, found.serviceName))!;
    if (cur.status !== "ACTIVE") throw conflict("ServiceNotActiveException", `service "${cur.serviceName}" is ${cur.status}`);
    const spec = td?.spec ?? (await taskDefinitionByArn(ctx, cur.taskDefinitionArn)).spec;
    const addressing = resolveAddressing(req, spec, cur.clusterName, cur.serviceName, cur.discovery);
    const ingress = addressing.ingress ?? cur.ingress ?? [];
    // A new revision must still map the ingress's container ports; the ports are checked again too.
    if (addressing.ingress || td) await withRequestPaths(addressing, () => checkIngress(ctx, cur.clusterName, cur.serviceName, ingress, spec, addressing.naming ? addressing.naming.naming.name : cur.discovery?.name));
    if (addressing.naming) await checkNaming(ctx, cur.clusterName, cur.serviceName, addressing.naming);
    const now = ctx.clock.now();
    const next: ServiceRow = {
      ...cur,
      desiredCount: req.desiredCount ?? cur.desiredCount,
      taskDefinitionArn: td?.arn ?? cur.taskDefinitionArn,
      deploymentConfiguration: mergeConfiguration(cur.deploymentConfiguration as DeploymentConfiguration, req.deploymentConfiguration),
      placementConstraints: req.placementConstraints ?? cur.placementConstraints,
      placementStrategy: req.placementStrategy ?? cur.placementStrategy,
      healthCheckGracePeriodSeconds: req.healthCheckGracePeriodSeconds ?? cur.healthCheckGracePeriodSeconds,
      disconnectGracePeriodSeconds: req.disconnectGracePeriodSeconds ?? cur.disconnectGracePeriodSeconds,
      ingress: ingress.length ? ingress : null,
      discovery: addressing.naming ? storedNaming(addressing.naming.naming) : cur.discovery,
      updatedAt: now,
    };
    const placementChanged =
      JSON.stringify(next.placementConstraints) !== JSON.stringify(cur.placementConstraints) ||
      JSON.stringify(next.placementStrategy) !== JSON.stringify(cur.placementStrategy);
    const newDeployment = req.forceNewDeployment === true || next.taskDefinitionArn !== cur.taskDefinitionArn || placementChanged;
    await ctx.db.transaction(async (tx) => {
      await tx.update(services).set(next).where(and(eq(services.clusterName, cur.clusterName), eq(services.serviceName, cur.serviceName)));
      if (next.desiredCount !== cur.desiredCount) {
        await appendEvents(tx, now, [
          serviceAction(cur.clusterName, cur.serviceName, "SERVICE_DESIRED_COUNT_UPDATED", "INFO", now, { desiredCount: next.desiredCount, previousDesiredCount: cur.desiredCount }),
        ]);
      }
      if (!newDeployment) {
        await tx
          .update(deployments)
          .set({ desiredCount: next.desiredCount, updatedAt: now })
          .where(and(eq(deployments.clusterName, cur.clusterName), eq(deployments.serviceName, cur.serviceName), eq(deployments.status, "PRIMARY")));
        return;
      }
      await tx
        .update(deployments)
        .set({ status: "ACTIVE", updatedAt: now })
        .where(and(eq(deployments.clusterName, cur.clusterName), eq(deployments.serviceName, cur.serviceName), eq(deployments.status, "PRIMARY")));
      await startPrimaryDeployment(tx, now, next);
    });
    return next;
  });
  ctx.eventSignal?.notify();
  ctx.servicesChanged?.();
  return row;
}

/**
 * DeleteService: ACTIVE → DRAINING (the scheduler stops every task) → INACTIVE once none is left.
 * As in ECS, a REPLICA service must be scaled to zero first unless `force` is given.
 */
export async function deleteService(ctx: OpsContext, cluster: string, nameOrArn: string, force: boolean): Promise<ServiceRow> {
  const found = await requireService(ctx, cluster, nameOrArn);
  const row = await ctx.serialize(async () => {
    const cur = (await getService(ctx, found.clusterName, found.serviceName))!;
    if (cur.status !== "ACTIVE") return cur;
    if (cur.schedulingStrategy === "REPLICA" && cur.desiredCount > 0 && !force) {
      throw invalid("The service cannot be stopped while it is scaled above 0 (scale it to 0 first, or delete it with force)", [
        { path: "force", message: "required while desiredCount is above 0" },
      ]);
    }
    const next: ServiceRow = { ...cur, status: "DRAINING", desiredCount: 0, updatedAt: ctx.clock.now() };
    await ctx.db
      .update(services)
      .set({ status: next.status, desiredCount: 0, updatedAt: next.updatedAt })
      .where(and(eq(services.clusterName, cur.clusterName), eq(services.serviceName, cur.serviceName)));
    return next;
  });
  if (row.status === "DRAINING") await addServiceEvent(ctx, row.clusterName, row.serviceName, `(service ${row.serviceName}) is being deleted.`);
  ctx.servicesChanged?.();
  return row;
}

export async function serviceEventsOf(ctx: OpsContext, cluster: string, nameOrArn: string) {
  const svc = await requireService(ctx, cluster, nameOrArn);
  return listServiceEvents(ctx, svc.clusterName, svc.serviceName);
}

export interface ServiceDetails {
  row: ServiceRow;
  deployments: DeploymentRow[];
  /** Desired-RUNNING tasks of the service. */
  tasks: TaskRow[];
  events: ServiceEventRow[];
  /** The service's current task definition (its port names give the SRV and Service Connect names). */
  spec?: TaskDefinitionSpec;
}

/** Everything DescribeServices shows: deployments in play with their task counts, and events. */
export async function serviceDetails(ctx: OpsContext, row: ServiceRow, eventLimit = 100): Promise<ServiceDetails> {
  return {
    row,
    deployments: row.status === "INACTIVE" ? [] : await liveDeployments(ctx, row.clusterName, row.serviceName),
    tasks: await serviceTasks(ctx, row.clusterName, row.serviceName),
    events: await listServiceEvents(ctx, row.clusterName, row.serviceName, eventLimit),
    spec: (await taskDefinitionByArn(ctx, row.taskDefinitionArn).catch(() => undefined))?.spec as TaskDefinitionSpec | undefined,
  };
}

export interface ServiceEndpoint {
  taskArn: string;
  containerInstanceArn: string;
  address: string;
  containerName: string;
  containerPort: number;
  hostPort: number;
  protocol: "tcp" | "udp";
}

/**
 * Where a service answers on the edge network, without a load balancer: one entry per bound port
 * of every RUNNING, healthy task on a connected instance, at endpointAddress.
 */
export async function serviceEndpoints(ctx: OpsContext, cluster: string, nameOrArn: string): Promise<ServiceEndpoint[]> {
  const svc = await requireService(ctx, cluster, nameOrArn);
  return endpointsOf(ctx, await serviceTasks(ctx, svc.clusterName, svc.serviceName));
}

/** serviceEndpoints for tasks the caller has already read (its service's desired-RUNNING tasks). */
export async function endpointsOf(ctx: OpsContext, rows: TaskRow[]): Promise<ServiceEndpoint[]> {
  const healthy = await healthyTasks(ctx, rows);
  return healthy.flatMap((h) =>
    h.bindings.map((b) => ({
      taskArn: h.task.arn,
      containerInstanceArn: h.instance.arn,
      address: b.address,
      containerName: b.containerName,
      containerPort: b.containerPort,
      hostPort: b.hostPort,
      protocol: b.protocol,
    })),
  );
}

/** A task that may receive traffic, with where each of its bound ports answers. */
export interface HealthyTask {
  task: TaskRow;
  instance: Pick<InstanceRow, "id" | "arn" | "agentConnected" | "attributes" | "addresses" | "hostname">;
  bindings: (NetworkBinding & { containerName: string; address: string; portName?: string })[];
  /** awsvpc: the task's own address (routable from its own host). */
  taskAddress?: string;
}

/**
 * The one test of which tasks are endpoints, for the /endpoints API and service discovery alike:
 * RUNNING on a connected instance and, with container health checks, HEALTHY as reported (the
 * scheduler's own test). Each bound port carries its portMappings[].name when it has one.
 */
export async function healthyTasks(ctx: OpsContext, rows: TaskRow[], db: Pick<OpsContext["db"], "select"> = ctx.db): Promise<HealthyTask[]> {
  const instanceIds = [...new Set(rows.map((t) => t.instanceId))];
  const cols = {
    id: containerInstances.id,
    arn: containerInstances.arn,
    agentConnected: containerInstances.agentConnected,
    attributes: containerInstances.attributes,
    addresses: containerInstances.addresses,
    hostname: containerInstances.hostname,
  };
  const instances = instanceIds.length ? await db.select(cols).from(containerInstances).where(inArray(containerInstances.id, instanceIds)).all() : [];
  const byId = new Map(instances.map((i) => [i.id, i]));
  const out: HealthyTask[] = [];
  // A service's tasks share one or two revisions: each is read once, not once per task.
  const specs = new Map<string, TaskDefinitionSpec>();
  for (const t of rows) {
    const inst = byId.get(t.instanceId);
    if (!inst?.agentConnected) continue;
    let spec = specs.get(t.taskDefinitionArn);
    if (!spec) {
      spec = (await taskDefinitionByArn(ctx, t.taskDefinitionArn)).spec as TaskDefinitionSpec;
      specs.set(t.taskDefinitionArn, spec);
    }
    if (!isHealthy(t, hasHealthChecks(spec))) continue;
    const bindings: HealthyTask["bindings"] = [];
    let taskAddress: string | undefined;
    for (const c of t.containers as (TaskContainer & { networkBindings?: NetworkBinding[]; networkInterfaces?: { privateIpv4Address: string }[] })[]) {
      taskAddress ??= c.networkInterfaces?.[0]?.privateIpv4Address;
      const mappings = spec.containerDefinitions.find((d) => d.name === c.name)?.portMappings ?? [];
      for (const b of c.networkBindings ?? []) {
        const portName = mappings.find((m) => m.containerPort === b.containerPort && m.protocol === b.protocol)?.name;
        bindings.push({ ...b, containerName: c.name, address: endpointAddress(inst, b), ...(portName ? { portName } : {}) });
      }
    }
    out.push({ task: t, instance: inst, bindings, ...(taskAddress ? { taskAddress } : {}) });
  }
  return out;
}

type NetworkBinding = { bindIP: string; containerPort: number; hostPort: number; protocol: "tcp" | "udp" };

/**
 * An address other hosts can reach a binding at: the instance's `flotilla.address` attribute when
 * set (the older way to choose it), else the binding's own address when it is specific, else the
 * first address the agent reports (its --advertise-address, else its first non-loopback IP), and
 * only for an agent that reports none, the hostname.
 */
export function endpointAddress(inst: Pick<InstanceRow, "attributes" | "addresses" | "hostname">, b: Pick<NetworkBinding, "bindIP">): string {
  const specific = b.bindIP && b.bindIP !== "0.0.0.0" && b.bindIP !== "::" ? b.bindIP : undefined;
  return inst.attributes["flotilla.address"] ?? specific ?? inst.addresses?.[0] ?? inst.hostname;
}
