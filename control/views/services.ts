import type { ContainerStatsStore } from "../container-stats.ts";
import { serviceStatsView } from "./stats.ts";
import { arn } from "../../shared/arn.ts";
import type { ServiceDetails } from "../ops/services.ts";
import { serviceConnectView } from "../ops/service-connect.ts";
import type { ServiceEventRow, TaskRow } from "../db/rows.ts";

/** Renders services in ECS's DescribeServices shape. */

const iso = (ms: number | null | undefined) => (ms == null ? undefined : new Date(ms).toISOString());

function counts(tasks: TaskRow[]) {
  const running = tasks.filter((t) => t.lastStatus === "RUNNING").length;
  return { runningCount: running, pendingCount: tasks.filter((t) => t.lastStatus === "PROVISIONING" || t.lastStatus === "PENDING").length };
}

export function serviceEventView(e: ServiceEventRow) {
  return { id: e.id, createdAt: iso(e.createdAt), message: e.message };
}

/** `containerStats` adds the service's sampled use (`stats`: Flotilla's REST door only). */
export function serviceView(d: ServiceDetails, containerStats?: ContainerStatsStore) {
  const { row } = d;
  // The DNS names and ingress in ECS's shapes too (ops/service-connect.ts), which the aws CLI and SDKs read.
  const sc = serviceConnectView(row, d.spec);
  return {
    serviceName: row.serviceName,
    serviceArn: row.arn,
    clusterArn: arn.cluster(row.clusterName),
    status: row.status,
    schedulingStrategy: row.schedulingStrategy,
    launchType: "EXTERNAL",
    desiredCount: row.schedulingStrategy === "DAEMON" ? (d.deployments.find((x) => x.status === "PRIMARY")?.desiredCount ?? 0) : row.desiredCount,
    ...counts(d.tasks),
    taskDefinition: row.taskDefinitionArn,
    deploymentConfiguration: row.deploymentConfiguration,
    deployments: d.deployments.map((dep) => ({
      id: dep.id,
      status: dep.status,
      taskDefinition: dep.taskDefinitionArn,
      desiredCount: dep.desiredCount,
      ...counts(d.tasks.filter((t) => t.deploymentId === dep.id)),
      failedTasks: dep.failedTasks,
      rolloutState: dep.rolloutState,
      rolloutStateReason: dep.rolloutStateReason ?? undefined,
      // Flotilla: hosts this deployment leaves alone until their deployment window opens (docs/deployment-windows.md).
      ...(dep.waitingHosts?.length ? { waitingHosts: dep.waitingHosts.map((h) => ({ containerInstanceArn: h.containerInstanceArn, until: iso(h.until) ?? null })) } : {}),
      // Flotilla: the image prefetch this deployment waited (or waits) for (docs/image-delivery.md).
      ...(dep.prefetchId ? { imagePrefetchId: dep.prefetchId } : {}),
      // ECS shows each deployment's Service Connect setup; Flotilla keeps the service's current one, on its PRIMARY deployment.
      ...(dep.status === "PRIMARY" && sc.serviceConnectConfiguration ? { serviceConnectConfiguration: sc.serviceConnectConfiguration, serviceConnectResources: sc.serviceConnectResources } : {}),
      launchType: "EXTERNAL",
      createdAt: iso(dep.createdAt),
      updatedAt: iso(dep.updatedAt),
    })),
    events: d.events.map(serviceEventView),
    placementConstraints: row.placementConstraints,
    placementStrategy: row.placementStrategy,
    healthCheckGracePeriodSeconds: row.healthCheckGracePeriodSeconds,
    disconnectGracePeriodSeconds: row.disconnectGracePeriodSeconds,
    // Flotilla: ports the hosts publish for the service (docs/ingress.md).
    ...(row.ingress?.length ? { ingress: row.ingress } : {}),
    serviceRegistries: sc.serviceRegistries,
    // Flotilla: the names the hosts answer for it (docs/discovery.md); absent when it has none.
    ...(sc.names ? { discovery: { dnsName: sc.names.dnsName, ...(sc.names.chosen ? { chosen: true } : {}), aliases: sc.names.aliases, srvNames: sc.names.srvNames } } : {}),
    createdAt: iso(row.createdAt),
    stats: serviceStatsView(containerStats, d.tasks),
  };
}
