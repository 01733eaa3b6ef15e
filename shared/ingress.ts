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
  /**
   * ECS's target group `deregistration_delay.timeout_seconds`: how long a task leaving the service
   * stays out of the answers (DEACTIVATING) before its stop goes to its agent. Default
   * DEFAULT_DEREGISTRATION_DELAY_SECONDS; 0: none.
   */
  deregistrationDelaySeconds: z.number().int().min(0).max(3600).optional(),
  /**
   * Only hosts matching this cluster query language expression (as a memberOf constraint's) listen;
   * absent: every host with the proxy.
   */
  hostExpression: z.string().min(1).max(2000).optional(),
});
export type IngressRule = z.output<typeof ingressRuleSchema>;

export const ingressSchema = z.array(ingressRuleSchema).max(16);

/** Short where ECS's is 300 s: at the edge a rolling update should not wait five minutes per task. */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 5;

/** A service's deregistration delay in ms: the longest of its ingress entries' (0 without ingress). */
export function deregistrationDelayMs(rules: IngressRule[] | null | undefined): number {
  let s = 0;
  for (const r of rules ?? []) s = Math.max(s, r.deregistrationDelaySeconds ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS);
  return s * 1000;
}

/** An ingress entry as the discovery set carries it: with the hosts the control chose to listen (hostExpression). */
export const discoveryIngressRuleSchema = ingressRuleSchema.extend({
  /** Instance ids that listen; absent: every host. */
  listenHosts: z.array(z.string()).optional(),
});
export type DiscoveryIngressRule = z.output<typeof discoveryIngressRuleSchema>;

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
      if (rule.listenHosts && !rule.listenHosts.includes(instanceId)) continue;
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
