import { and, eq, ne } from "drizzle-orm";
import { containerInstances, deployments } from "../db/schema.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { addServiceEvent } from "./events.ts";
import { imagePrefetchStatus, insertImagePrefetch } from "./image-prefetch-store.ts";
import type { ServiceSnapshot } from "./snapshot.ts";

/**
 * deploymentConfiguration.prefetch: does the primary deployment still wait for its images? The
 * first round of a deployment that has tasks to replace starts a prefetch of its task
 * definition's images on every ACTIVE connected host of the cluster (where the scheduler may place
 * its tasks) and remembers it on the deployment; the rollout waits until every host reported DONE
 * or FAILED. A FAILED host does not stop the deployment: its task starts then fail as they would
 * have (CannotPullContainerError), under the circuit breaker. Level-triggered: a restarted control
 * reads the stored prefetch id and keeps waiting on the same prefetch.
 */
export async function waitsForPrefetch(ctx: OpsContext, snap: ServiceSnapshot): Promise<boolean> {
  const { svc, cfg, primary } = snap;
  if (!cfg.prefetch || svc.status !== "ACTIVE" || primary.rolloutState !== "IN_PROGRESS") return false;
  if (primary.prefetchId) return (await imagePrefetchStatus(ctx, primary.prefetchId)) === "IN_PROGRESS";
  // Nothing to replace (a new service, or one scaled from zero): no reason to delay its start.
  if (!snap.tasks.some((t) => t.task.deploymentId !== primary.id && !t.lost)) return false;
  const td = snap.tds.get(primary.taskDefinitionArn);
  if (!td) return false;
  const hosts = await ctx.db
    .select({ id: containerInstances.id })
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterName, svc.clusterName), eq(containerInstances.status, "ACTIVE"), eq(containerInstances.agentConnected, true)))
    .all();
  if (hosts.length === 0) return false;
  const images = [...new Set(td.spec.containerDefinitions.map((c) => c.image))];
  const row = await insertImagePrefetch(
    ctx,
    svc.clusterName,
    images,
    hosts.map((h) => h.id),
    primary.taskDefinitionArn,
  );
  await ctx.serialize(() => ctx.db.update(deployments).set({ prefetchId: row.id, updatedAt: ctx.clock.now() }).where(and(eq(deployments.id, primary.id), ne(deployments.status, "INACTIVE"))));
  primary.prefetchId = row.id;
  await addServiceEvent(ctx, svc.clusterName, svc.serviceName, `(service ${svc.serviceName}) (deployment ${primary.id}) is prefetching ${images.length} images on ${hosts.length} container instances (image prefetch ${row.id}).`);
  return true;
}
