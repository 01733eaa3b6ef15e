import { LABELS } from "../../shared/labels.ts";
import type { ContainerRuntime } from "../runtime/types.ts";

/**
 * What the agent does when the broker refuses its credentials (the instance was deregistered or
 * its credential revoked): by default nothing to the workloads; with --stop-containers-on-deregister
 * it stops this instance's containers first. Returns the line to exit with.
 */
export async function onDeregistered(runtime: ContainerRuntime, instanceId: string, stopContainers: boolean): Promise<string> {
  const base = "the control service refused this instance's credentials (deregistered?)";
  if (!stopContainers) return `${base}; containers are left running`;
  const running = (await runtime.list({ [LABELS.instanceId]: instanceId })).filter((c) => c.state === "running");
  await Promise.all(running.map((c) => runtime.stop(c.id, 10).catch(() => undefined)));
  return `${base}; stopped ${running.length} container(s) as --stop-containers-on-deregister asks`;
}
