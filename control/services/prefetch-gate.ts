import { and, eq, ne } from "drizzle-orm";
import { deployments } from "../db/schema.ts";
import { eligibleInstances } from "../scheduling/definition-placement.ts";
import type { OpsContext } from "../scheduling/context.ts";
import { addServiceEvent } from "./events.ts";
import { imagePrefetchStatus, insertImagePrefetch } from "./image-prefetch-store.ts";
import type { ServiceSnapshot } from "./snapshot.ts";
import { constraintsOf } from "./store.ts";

/**
 * deploymentConfiguration.prefetch: does the primary deployment still wait for its images? The
 * first round of a deployment that has tasks to replace starts a prefetch of its task
 * definition's images on every ACTIVE connected host of the cluster the scheduler may place its
 * tasks on (eligibleInstances: the service's and definition's constraints, attributes, architecture) and remembers it on the deployment; the rollout waits until every host reported DONE
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
  // Only hosts the scheduler may place the new tasks on (the service's and the definition's
  // constraints, attributes, architecture): a host that can never run them needs none of the images.
  const hosts = await eligibleInstances(ctx, svc.clusterName, td, constraintsOf(svc));
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
