import type { InstanceRow } from "../db/rows.ts";
import { compileExpression } from "../placement/index.ts";
import type { OpsContext } from "./context.ts";
import { clientError, invalid } from "./errors.ts";
import { listContainerInstances, requireInstance } from "./instances.ts";

/**
 * The instances an operation aimed at hosts acts on (an agent upgrade, an image prefetch): the ones
 * named (ids or ARNs, all in the cluster) and/or matching the filter (the cluster query language,
 * as ListContainerInstances' filter), INACTIVE ones left out, each once. None is a 400 naming the
 * field that selected nothing.
 */
export async function targetInstances(ctx: OpsContext, cluster: string, q: { instances?: string[]; filter?: string }): Promise<InstanceRow[]> {
  if (q.filter !== undefined) {
    const compiled = compileExpression(q.filter);
    if (!compiled.ok) throw invalid(`filter: ${compiled.error.message}`, [{ path: "filter", message: compiled.error.message }]);
  }
  let rows: InstanceRow[];
  if (q.instances) {
    rows = [];
    for (const [i, ref] of q.instances.entries()) {
      const row = await requireInstance(ctx, cluster, ref).catch(() => undefined);
      if (!row) throw clientError(`container instance "${ref}" not found in cluster "${cluster}"`, [{ path: `instances[${i}]`, message: "no such container instance in this cluster" }]);
      rows.push(row);
    }
    if (q.filter !== undefined) {
      const matching = new Set((await listContainerInstances(ctx, cluster, { filter: q.filter })).map((r) => r.id));
      rows = rows.filter((r) => matching.has(r.id));
    }
  } else rows = await listContainerInstances(ctx, cluster, q.filter === undefined ? {} : { filter: q.filter });
  rows = [...new Map(rows.filter((r) => r.status !== "INACTIVE").map((r) => [r.id, r])).values()];
  if (rows.length === 0) throw clientError("no container instance matches", [{ path: q.instances ? "instances" : "filter", message: "matches no container instance" }]);
  return rows;
}
