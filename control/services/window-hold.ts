import { and, eq, ne } from "drizzle-orm";
import { arn } from "../../shared/arn.ts";
import { deployments, type WaitingHost } from "../db/schema.ts";
import type { DeploymentRow } from "../db/rows.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { ClusterView } from "./snapshot.ts";

/** Is the host of this task inside its deployment window now (a host the round does not know: yes)? */
export function hostOpen(view: ClusterView, instanceId: string): boolean {
  if (view.windows.unrestricted) return true;
  const inst = view.instances.get(instanceId);
  return !inst || view.windows.stateOf(inst).open;
}

/** The hosts a deployment waits for, each with the next opening of its windows. */
export function waitingHostsOf(view: ClusterView, clusterName: string, instanceIds: Iterable<string>): WaitingHost[] {
  const out: WaitingHost[] = [];
  for (const id of new Set(instanceIds)) {
    const inst = view.instances.get(id);
    const until = inst ? view.windows.stateOf(inst).opensAt : undefined;
    out.push({ containerInstanceArn: arn.containerInstance(clusterName, id), until: until ?? null });
  }
  return out.sort((a, b) => (a.until ?? Infinity) - (b.until ?? Infinity) || a.containerInstanceArn.localeCompare(b.containerInstanceArn));
}

/** Stores the primary deployment's waiting hosts when they changed (shown by DescribeServices). */
export async function recordWaitingHosts(ctx: OpsContext, primary: DeploymentRow, hosts: WaitingHost[]): Promise<void> {
  const next = hosts.length ? hosts : null;
  if (JSON.stringify(next) === JSON.stringify(primary.waitingHosts ?? null)) return;
  await ctx.serialize(() =>
    ctx.db.update(deployments).set({ waitingHosts: next, updatedAt: ctx.clock.now() }).where(and(eq(deployments.id, primary.id), ne(deployments.status, "INACTIVE"))),
  );
  primary.waitingHosts = next;
}

/**
 * Keeps the deployment's reached count: the most tasks the service has had live at once, capped at
 * desiredCount. Starts up to it replace failed tasks (never held by windows); starts beyond it are
 * scale-up. Stored, so a restarted control tells the two apart as the last one did.
 */
export async function recordReached(ctx: OpsContext, primary: DeploymentRow, live: number, desired: number): Promise<number> {
  const reached = Math.min(desired, Math.max(primary.reachedCount, live));
  if (reached !== primary.reachedCount) {
    await ctx.serialize(() => ctx.db.update(deployments).set({ reachedCount: reached }).where(eq(deployments.id, primary.id)));
    primary.reachedCount = reached;
  }
  return reached;
}
