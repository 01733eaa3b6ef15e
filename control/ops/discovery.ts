import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { SITE_ATTRIBUTE, discoveryLabel, type DiscoveryService, type DiscoverySet, type DiscoveryTask } from "../../shared/discovery.ts";
import { clusters, containerInstances, services, tasks } from "../db/schema.ts";
import type { TaskRow } from "../db/rows.ts";
import type { DiscoveryIngressRule, IngressRule } from "../../shared/ingress.ts";
import { compileExpression } from "../placement/index.ts";
import type { OpsContext } from "./context.ts";
import { requireCluster } from "./clusters.ts";
import { healthyTasks } from "./services.ts";

type Reader = Pick<OpsContext["db"], "select">;

/**
 * The cluster's discoverable services and the tasks that may receive traffic, in a stable order
 * (so an unchanged cluster builds the same JSON and is not published again). Which tasks count is
 * the /endpoints API's own test (healthyTasks). A service is served under its chosen name, else
 * discoveryLabel of its name, and its aliases; two services with one name (`My_Web`, `my-web`, or
 * a derived name that is another's alias) go to the older service.
 */
export async function discoveryServices(ctx: OpsContext, clusterName: string, db: Reader = ctx.db): Promise<DiscoveryService[]> {
  const svcs = await db
    .select({ name: services.serviceName, createdAt: services.createdAt, ingress: services.ingress, discovery: services.discovery })
    .from(services)
    .where(and(eq(services.clusterName, clusterName), ne(services.status, "INACTIVE")))
    .all();
  svcs.sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : 1));
  const labelOf = new Map<string, string>();
  const ingressOf = new Map<string, IngressRule[]>();
  const aliasesOf = new Map<string, string[]>();
  const taken = new Set<string>();
  for (const s of svcs) {
    // A chosen name (docs/discovery.md, Chosen names) replaces the derived one; its aliases answer too.
    const label = s.discovery?.name ?? discoveryLabel(s.name);
    if (!label || taken.has(label)) continue;
    taken.add(label);
    labelOf.set(s.name, label);
    if (s.ingress?.length) ingressOf.set(label, s.ingress);
    const aliases = [...new Set((s.discovery?.aliases ?? []).map((a) => a.name))].filter((a) => !taken.has(a));
    for (const a of aliases) taken.add(a);
    if (aliases.length) aliasesOf.set(label, aliases.sort());
  }
  if (labelOf.size === 0) return [];
  // Only what the test and the records need: a task row's events and overrides are most of its
  // bytes, and a burst of reports rebuilds this every few hundred milliseconds.
  const rows = await db
    .select({
      id: tasks.id,
      arn: tasks.arn,
      instanceId: tasks.instanceId,
      serviceName: tasks.serviceName,
      taskDefinitionArn: tasks.taskDefinitionArn,
      lastStatus: tasks.lastStatus,
      healthStatus: tasks.healthStatus,
      containers: tasks.containers,
      // A deactivating task (deregistration delay) is out of the answers.
      deactivatingAt: tasks.deactivatingAt,
    })
    .from(tasks)
    .where(and(eq(tasks.clusterName, clusterName), inArray(tasks.serviceName, [...labelOf.keys()]), eq(tasks.desiredStatus, "RUNNING")))
    .all();
  const byLabel = new Map<string, DiscoveryTask[]>([...labelOf.values()].map((l) => [l, []]));
  for (const h of await healthyTasks(ctx, rows as TaskRow[], db)) {
    const site = h.instance.attributes[SITE_ATTRIBUTE];
    byLabel.get(labelOf.get(h.task.serviceName!)!)!.push({
      taskId: h.task.id,
      instanceId: h.instance.id,
      address: h.bindings[0]?.address ?? h.instance.attributes["flotilla.address"] ?? h.instance.addresses?.[0] ?? h.instance.hostname,
      ...(h.taskAddress ? { taskAddress: h.taskAddress } : {}),
      ...(site ? { site } : {}),
      ports: h.bindings.map((b) => ({ ...(b.portName ? { name: b.portName } : {}), containerPort: b.containerPort, hostPort: b.hostPort, protocol: b.protocol })),
    });
  }
  return [...byLabel]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, list]) => ({
      name,
      tasks: list.sort((a, b) => (a.taskId < b.taskId ? -1 : 1)),
      ...(aliasesOf.has(name) ? { aliases: aliasesOf.get(name) } : {}),
      // The hosts' ingress proxies take their targets from these same tasks (docs/ingress.md).
      ...(ingressOf.has(name) ? { ingress: ingressOf.get(name)!.map((r) => withListenHosts(ctx, clusterName, r)) } : {}),
    }));
}

/**
 * An entry with a hostExpression carries the hosts that match it now (evaluated by placement's
 * own evaluator on the placement store's view of the instances, as memberOf is), so each agent
 * only has to find its own id. An expression that no longer parses (none is stored that way)
 * leaves no host listening rather than every one.
 */
function withListenHosts(ctx: OpsContext, clusterName: string, rule: IngressRule): DiscoveryIngressRule {
  // Only what a proxy needs (its targets' health check too): the delay is the control's business,
  // and a set an agent of the first ingress slice can still read unless a hostExpression or a
  // health check is used.
  const { containerPort, listenPort, protocol, healthCheck } = rule;
  const carried = { containerPort, listenPort, protocol, ...(healthCheck ? { healthCheck } : {}) };
  if (rule.hostExpression === undefined) return carried;
  const compiled = compileExpression(rule.hostExpression);
  const hosts = compiled.ok ? ctx.placement.cluster(clusterName).filter((v) => compiled.predicate(v)).map((v) => v.id) : [];
  return { ...carried, listenHosts: hosts.sort() };
}

/**
 * A new discovery set for the cluster with the records given (read just before): its generation
 * raised in the database (one statement, so the writers' queue is not held while records are
 * read), so it keeps rising across restarts and leader changes. Records are read before their
 * generation is taken, which is safe because one process publishes (the leader, see
 * control/link/discovery-publisher.ts). Null for a cluster that does not exist or whose name is
 * no DNS label.
 */
export async function nextDiscoverySet(ctx: OpsContext, clusterName: string, services?: DiscoveryService[]): Promise<DiscoverySet | null> {
  const clusterLabel = discoveryLabel(clusterName);
  if (!clusterLabel) return null;
  const records = services ?? (await discoveryServices(ctx, clusterName));
  const bumped = await ctx.serialize(() =>
    ctx.db
      .update(clusters)
      .set({ discoveryGeneration: sql`${clusters.discoveryGeneration} + 1` })
      .where(eq(clusters.name, clusterName))
      .returning({ generation: clusters.discoveryGeneration })
      .get(),
  );
  if (!bumped) return null;
  return { clusterName, clusterLabel, generation: bumped.generation, services: records };
}

/**
 * What the hosts of a cluster answer now (GET /v1/clusters/{c}/discovery): its zone and every
 * served name with its tasks. A service missing here has a name that is no DNS label
 * (docs/discovery.md); zone null: the cluster's own name is none.
 */
export async function clusterDiscovery(ctx: OpsContext, cluster: string): Promise<{ zone: string | null; services: (DiscoveryService & { dnsName: string; aliasDnsNames?: string[] })[] }> {
  const c = await requireCluster(ctx, cluster);
  const label = discoveryLabel(c.name);
  if (!label) return { zone: null, services: [] };
  const zone = `${label}.flotilla`;
  return {
    zone,
    services: (await discoveryServices(ctx, c.name)).map((s) => ({ ...s, dnsName: `${s.name}.${zone}`, ...(s.aliases ? { aliasDnsNames: s.aliases.map((a) => `${a}.${zone}`) } : {}) })),
  };
}

/** Clusters with live instances (the ones whose records someone reads), with how many each has. */
export async function discoveryClusters(ctx: OpsContext): Promise<Map<string, number>> {
  const rows = await ctx.db
    .select({ clusterName: containerInstances.clusterName, hosts: sql<number>`count(*)` })
    .from(containerInstances)
    .where(ne(containerInstances.status, "INACTIVE"))
    .groupBy(containerInstances.clusterName)
    .all();
  return new Map(rows.map((r) => [r.clusterName, Number(r.hosts)]));
}
