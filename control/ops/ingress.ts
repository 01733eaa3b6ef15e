import { and, eq, ne } from "drizzle-orm";
import { discoveryLabel } from "../../shared/discovery.ts";
import { FIRST_UNPRIVILEGED_PORT, type IngressRule } from "../../shared/ingress.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { containerInstances, services } from "../db/schema.ts";
import { addServiceEvent } from "../services/events.ts";
import type { OpsContext } from "./context.ts";
import type { FieldIssue } from "../../shared/task-definition/index.ts";
import { invalid } from "./errors.ts";
import { getClusterPolicy } from "./policy.ts";
import { compileExpression } from "../placement/index.ts";
import { taskDefinitionRevision } from "../db/task-definition-revisions.ts";
import { networkModeOf } from "../../shared/task-definition/network.ts";
import { taskReservation } from "../../shared/task-definition/reservation.ts";

/**
 * Refuses (400 naming `ingress[i].field`) an ingress the service cannot have: a listen port below
 * 1024 the cluster policy does not allow, a container port that is no TCP port mapping of the task
 * definition, a listen port given twice or already published by another service of the cluster.
 * Called inside the writers' queue before anything is written, so two services racing for one
 * port cannot both get it and a refused request changes nothing.
 */
export async function checkIngress(ctx: OpsContext, cluster: string, serviceName: string, rules: IngressRule[], td: TaskDefinitionSpec, chosenName?: string): Promise<void> {
  const others = await ctx.db
    .select({ name: services.serviceName, ingress: services.ingress, taskDefinitionArn: services.taskDefinitionArn })
    .from(services)
    .where(and(eq(services.clusterName, cluster), ne(services.serviceName, serviceName), ne(services.status, "INACTIVE")))
    .all();
  const taken = new Map<number, string>();
  for (const o of others) for (const r of o.ingress ?? []) taken.set(r.listenPort, o.name);
  // Every host of the cluster may listen on an ingress port, so a task binding it statically
  // could never start beside the proxy (or would take the port from it): refused either way.
  const ownStatic = staticHostTcpPorts(td);
  const ownListen = new Set(rules.map((r) => r.listenPort));
  const staticIssues: FieldIssue[] = [];
  for (const p of ownStatic) {
    const owner = taken.get(p) ?? (ownListen.has(p) ? serviceName : undefined);
    if (owner) staticIssues.push({ path: "taskDefinition", message: `the task definition binds host port ${p}, the ingress listenPort of service "${owner}" in this cluster` });
  }
  if (rules.length === 0) {
    if (staticIssues.length) throw invalid(staticIssues.map((f) => `${f.path}: ${f.message}`).join("; "), staticIssues);
    return;
  }
  const issues: FieldIssue[] = [...staticIssues];
  const policy = await getClusterPolicy(ctx, cluster);
  const mapped = new Set(td.containerDefinitions.flatMap((c) => (c.portMappings ?? []).filter((pm) => pm.protocol !== "udp").map((pm) => pm.containerPort)));
  const boundBy = new Map<number, string>();
  for (const o of others) {
    for (const p of staticHostTcpPorts((await taskDefinitionRevision(ctx.db, o.taskDefinitionArn))?.spec as TaskDefinitionSpec | undefined)) boundBy.set(p, o.name);
  }
  // A name with no DNS label is left out of the discovery set, and the ingress rides in that set:
  // accepted, it would never be published anywhere. ECS's names allow what DNS does not (up to 255
  // characters, leading underscores), so only a service asking for ingress is held to it.
  // A chosen DNS name (discovery.name, serviceRegistries, discoveryName) is checked as a label where it is given.
  if (!chosenName && !discoveryLabel(serviceName)) {
    issues.push({ path: "serviceName", message: `"${serviceName}" has no DNS label (letters, digits and inner hyphens or underscores, 63 at most), so its ingress could not be published; choose a DNS name for it (discovery.name) or rename the service` });
  }
  if (!discoveryLabel(cluster)) {
    issues.push({ path: "cluster", message: `cluster "${cluster}" has no DNS label (letters, digits and inner hyphens or underscores, 63 at most), so no ingress of it can be published` });
  }
  const seen = new Set<number>();
  rules.forEach((r, i) => {
    if (r.listenPort < FIRST_UNPRIVILEGED_PORT && !policy.allowPrivilegedIngressPorts) {
      issues.push({ path: `ingress[${i}].listenPort`, message: `port ${r.listenPort} is below ${FIRST_UNPRIVILEGED_PORT}, not allowed by the cluster policy (allowPrivilegedIngressPorts)` });
    }
    if (!mapped.has(r.containerPort)) {
      issues.push({ path: `ingress[${i}].containerPort`, message: `${r.containerPort} is not a TCP portMappings containerPort of the task definition` });
    }
    if (r.hostExpression !== undefined) {
      const compiled = compileExpression(r.hostExpression);
      if (!compiled.ok) issues.push({ path: `ingress[${i}].hostExpression`, message: `not a cluster query language expression: ${compiled.error.message}` });
    }
    const binder = boundBy.get(r.listenPort);
    if (binder) issues.push({ path: `ingress[${i}].listenPort`, message: `port ${r.listenPort} is a static host port of the tasks of service "${binder}" in this cluster` });
    const owner = taken.get(r.listenPort);
    if (owner) issues.push({ path: `ingress[${i}].listenPort`, message: `port ${r.listenPort} is already the ingress of service "${owner}" in this cluster` });
    else if (seen.has(r.listenPort)) issues.push({ path: `ingress[${i}].listenPort`, message: `port ${r.listenPort} is given twice` });
    seen.add(r.listenPort);
    // ELB's rule: a check must time out before the next one is due.
    if (r.healthCheck && r.healthCheck.timeoutSeconds >= r.healthCheck.intervalSeconds) {
      issues.push({ path: `ingress[${i}].healthCheck.timeoutSeconds`, message: `${r.healthCheck.timeoutSeconds} must be smaller than intervalSeconds (${r.healthCheck.intervalSeconds})` });
    }
  });
  if (issues.length) throw invalid(issues.map((f) => `${f.path}: ${f.message}`).join("; "), issues);
}

/** TCP host ports a task of this definition binds on its host (none in awsvpc mode: its own namespace). */
export function staticHostTcpPorts(td: TaskDefinitionSpec | undefined): number[] {
  if (!td || networkModeOf(td) === "awsvpc") return [];
  return taskReservation(td).tcpPorts;
}

/**
 * Ingress ports a host's proxy could not bind (from its report): a service event on the service
 * whose port it is, naming the host, as ECS names an instance in its service events. Repeats in
 * later reports are suppressed by the event log (same message as the latest).
 */
export async function applyIngressProblems(ctx: OpsContext, instanceId: string, problems: { listenPort: number; message: string }[]): Promise<void> {
  const inst = await ctx.db
    .select({ clusterName: containerInstances.clusterName, arn: containerInstances.arn })
    .from(containerInstances)
    .where(eq(containerInstances.id, instanceId))
    .get();
  if (!inst) return;
  const owners = new Map<number, string>();
  const rows = await ctx.db
    .select({ name: services.serviceName, ingress: services.ingress })
    .from(services)
    .where(and(eq(services.clusterName, inst.clusterName), ne(services.status, "INACTIVE")))
    .all();
  for (const r of rows) for (const rule of r.ingress ?? []) owners.set(rule.listenPort, r.name);
  for (const p of problems) {
    const owner = owners.get(p.listenPort);
    if (!owner) continue;
    await addServiceEvent(ctx, inst.clusterName, owner, `(service ${owner}) could not publish ingress port ${p.listenPort} on container instance ${inst.arn}: ${p.message}`);
  }
}
