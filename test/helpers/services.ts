import type { TestControl } from "./control.ts";
import { waitFor } from "./wait.ts";

/** Helpers for service tests against a real control service. */

/** Tasks of a service desired RUNNING (ListTasks filtered by the service's task group). */
export async function serviceTasks(tc: TestControl, cluster: string, service: string): Promise<any[]> {
  const list = (await tc.api("GET", `/v1/clusters/${cluster}/tasks`)).body.tasks as any[];
  return list.filter((t) => t.group === `service:${service}`);
}

export async function describeService(tc: TestControl, cluster: string, service: string): Promise<any> {
  return (await tc.api("GET", `/v1/clusters/${cluster}/services/${service}`)).body.service;
}

/**
 * Waits for a service to be steady: one COMPLETED PRIMARY deployment whose task definition ends
 * with `revision` (when given) and `count` tasks RUNNING.
 */
export async function waitServiceSteady(tc: TestControl, cluster: string, service: string, count: number, opts: { revision?: string; timeoutMs?: number } = {}) {
  return waitFor(
    `service ${service} to run ${count} tasks${opts.revision ? ` of ${opts.revision}` : ""} steadily`,
    async () => {
      const svc = await describeService(tc, cluster, service);
      const dep = svc?.deployments?.[0];
      const ok =
        svc?.deployments?.length === 1 &&
        dep.rolloutState === "COMPLETED" &&
        (!opts.revision || dep.taskDefinition.endsWith(opts.revision)) &&
        svc.runningCount === count &&
        svc.pendingCount === 0;
      return ok ? svc : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 100 },
  );
}
