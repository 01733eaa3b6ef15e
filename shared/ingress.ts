import { z } from "zod";
import type { DiscoverySet } from "./discovery.ts";

/**
 * A service's ingress (Flotilla extension of CreateService/UpdateService, docs/ingress.md): every
 * host of the cluster whose agent runs the ingress proxy listens on `listenPort` and forwards each
 * TCP connection to a serving task's host port for `containerPort`.
 */
/**
 * HTTP health of the targets, checked by every host's proxy (optional): ELB target group health
 * check names, ranges and defaults (HealthCheckPath, HealthCheckIntervalSeconds 5-300 (30),
 * HealthCheckTimeoutSeconds 2-120 (5), HealthyThresholdCount 2-10 (5), UnhealthyThresholdCount
 * 2-10 (2), Matcher.HttpCode "200" / "200,202" / "200-299"). Timeout below interval: at
 * CreateService/UpdateService (control/ops/ingress.ts).
 */
export const ingressHealthCheckSchema = z.strictObject({
  path: z.string().startsWith("/").max(1024).default("/"),
  intervalSeconds: z.number().int().min(5).max(300).default(30),
  timeoutSeconds: z.number().int().min(2).max(120).default(5),
  healthyThresholdCount: z.number().int().min(2).max(10).default(5),
  unhealthyThresholdCount: z.number().int().min(2).max(10).default(2),
  matcher: z
    .strictObject({ httpCode: z.string().regex(/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/, 'codes such as "200", "200,202" or "200-299"').default("200") })
    .default({ httpCode: "200" }),
});
export type IngressHealthCheck = z.output<typeof ingressHealthCheckSchema>;

export const ingressRuleSchema = z.strictObject({
  containerPort: z.number().int().min(1).max(65535),
  listenPort: z.number().int().min(1).max(65535),
  protocol: z.literal("tcp").default("tcp"),
  healthCheck: ingressHealthCheckSchema.optional(),
});
export type IngressRule = z.output<typeof ingressRuleSchema>;

export const ingressSchema = z.array(ingressRuleSchema).max(16);

/** Ports below this need the cluster policy's allowPrivilegedIngressPorts (they need root on the host). */
export const FIRST_UNPRIVILEGED_PORT = 1024;

export interface IngressTarget {
  taskId: string;
  /** True when the task runs on the host asking (preferred). */
  local: boolean;
  /** The task's host's site (ecs.availability-zone), when it has one: same-site targets come next. */
  site?: string;
  host: string;
  port: number;
}

export interface IngressListener {
  service: string;
  listenPort: number;
  containerPort: number;
  targets: IngressTarget[];
  /** The ingress's HTTP health check: the proxy skips targets that fail it. */
  healthCheck?: IngressHealthCheck;
}

/**
 * Every ingress of a discovery set with its targets, seen from `instanceId`: a serving task's host
 * address and the host port bound for the container port (what SRV records give). An awsvpc task
 * on this host is reached at its own address (only there is it routable).
 */
export function ingressListeners(set: DiscoverySet | null, instanceId: string): IngressListener[] {
  const out: IngressListener[] = [];
  for (const svc of set?.services ?? []) {
    for (const rule of svc.ingress ?? []) {
      const targets: IngressTarget[] = [];
      for (const t of svc.tasks) {
        const local = t.instanceId === instanceId;
        for (const p of t.ports) {
          if (p.protocol !== "tcp" || p.containerPort !== rule.containerPort) continue;
          const host = local && t.taskAddress ? t.taskAddress : t.address;
          const port = local && t.taskAddress ? p.containerPort : p.hostPort;
          targets.push({ taskId: t.taskId, local, ...(t.site ? { site: t.site } : {}), host, port });
        }
      }
      out.push({ service: svc.name, listenPort: rule.listenPort, containerPort: rule.containerPort, targets, ...(rule.healthCheck ? { healthCheck: rule.healthCheck } : {}) });
    }
  }
  return out;
}
