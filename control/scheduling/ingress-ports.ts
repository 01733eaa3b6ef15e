import { and, eq, ne } from "drizzle-orm";
import { services } from "../db/schema.ts";
import { compileExpression, type InstanceView, type PlacementRequest } from "../placement/index.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { networkModeOf } from "../../shared/task-definition/network.ts";
import type { OpsContext } from "./context.ts";

/**
 * The cluster's ingress listen ports as placement's held ports: the hosts' proxies listen on
 * them (every host, or those matching the entry's hostExpression), so a task binding one
 * statically on such a host could not start there, or would take the port from the proxy.
 * CreateService/UpdateService refuse a service's own conflict (control/ops/ingress.ts); this
 * covers RunTask and ingress added after a task definition was in use. Undefined when the task
 * binds no static TCP port on its host (awsvpc binds in its own namespace), or none is an ingress
 * port: nothing to check, nothing read.
 */
export async function ingressHeldPorts(ctx: OpsContext, clusterName: string, spec: TaskDefinitionSpec, tcpPorts: readonly number[]): Promise<PlacementRequest["heldTcpPorts"]> {
  if (tcpPorts.length === 0 || networkModeOf(spec) === "awsvpc") return undefined;
  const rows = await ctx.db
    .select({ ingress: services.ingress })
    .from(services)
    .where(and(eq(services.clusterName, clusterName), ne(services.status, "INACTIVE")))
    .all();
  const wanted = new Set(tcpPorts);
  const held: { port: number; on: ((v: InstanceView) => boolean) | null }[] = [];
  for (const r of rows) {
    for (const rule of r.ingress ?? []) {
      if (!wanted.has(rule.listenPort)) continue;
      const compiled = rule.hostExpression === undefined ? null : compileExpression(rule.hostExpression);
      held.push({ port: rule.listenPort, on: compiled ? (compiled.ok ? compiled.predicate : () => false) : null });
    }
  }
  if (held.length === 0) return undefined;
  return (instance) => new Set(held.filter((h) => !h.on || h.on(instance)).map((h) => h.port));
}
