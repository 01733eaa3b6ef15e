/**
 * The numbers ECS derives from a service's deploymentConfiguration. Pure, so the rules are tested
 * alone (test/control/services/deployment-math.test.ts).
 */

export interface DeploymentConfiguration {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
  /**
   * Flotilla: how the service treats deployment windows. Scale-up (more tasks than the service has
   * had) waits for hosts inside their windows unless allowScaleOutsideWindow; replacing failed
   * tasks never waits. Absent = { allowScaleOutsideWindow: false }.
   */
  windowPolicy?: { allowScaleOutsideWindow: boolean };
  /**
   * Flotilla (docs/image-delivery.md): a new deployment first pulls its task definition's images
   * on every ACTIVE connected host of the cluster, and replaces tasks only once that ended.
   */
  prefetch?: boolean;
}

/** ECS defaults: REPLICA 100/200; DAEMON 0/100 (a daemon stops the old copy before starting the new). */
export function defaultDeploymentConfiguration(strategy: "REPLICA" | "DAEMON"): DeploymentConfiguration {
  return strategy === "DAEMON"
    ? { minimumHealthyPercent: 0, maximumPercent: 100, deploymentCircuitBreaker: { enable: false, rollback: false } }
    : { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: false, rollback: false } };
}

/** Healthy tasks that must stay up during a deployment: ECS rounds the minimum UP. */
export function minimumHealthyTasks(desiredCount: number, minimumHealthyPercent: number): number {
  return Math.max(0, Math.ceil((desiredCount * minimumHealthyPercent) / 100 - 1e-9));
}

/** Tasks (all deployments together) allowed at once: ECS rounds the maximum DOWN. */
export function maximumTasks(desiredCount: number, maximumPercent: number): number {
  return Math.floor((desiredCount * maximumPercent) / 100 + 1e-9);
}

/** ECS's circuit breaker: failure threshold = min(max(ceil(0.5 × desiredCount), 3), 200). */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(Math.max(Math.ceil(0.5 * desiredCount), 3), 200);
}

export interface RolloutCounts {
  desiredCount: number;
  /** Live tasks of the primary deployment that count toward it (not lost, not on a draining instance). */
  primaryTasks: number;
  /**
   * Every task of the service not yet STOPPED, whatever its desired status: all deployments,
   * draining instances, and tasks asked to stop that are still stopping (ECS counts PENDING,
   * RUNNING and STOPPING tasks toward maximumPercent). Only tasks on lost instances are left out.
   */
  totalTasks: number;
  /** Healthy tasks of the service, all deployments: RUNNING (HEALTHY with checks) and not being stopped. */
  healthyTasks: number;
}

export interface RolloutStep {
  /** New primary tasks to start now. */
  start: number;
  /** Healthy tasks that may be stopped now (old deployments, draining instances) without going below the minimum. */
  stopHealthy: number;
}

/**
 * One reconcile round of a rolling replacement: start primary tasks up to the desired count but never
 * above maximumPercent in total; stop healthy replaced tasks only while the healthy count stays at or
 * above minimumHealthyPercent. Unhealthy replaced tasks may always be stopped (they serve nothing).
 */
export function rolloutStep(c: RolloutCounts, cfg: Pick<DeploymentConfiguration, "minimumHealthyPercent" | "maximumPercent">): RolloutStep {
  const max = maximumTasks(c.desiredCount, cfg.maximumPercent);
  // When the limits leave no room to move (desiredCount 1 with 50/100, say), ECS stalls; Flotilla
  // lets the healthy count dip one below the minimum instead, so a rollout always progresses.
  const min = Math.min(minimumHealthyTasks(c.desiredCount, cfg.minimumHealthyPercent), Math.max(0, max - 1));
  const start = Math.max(0, Math.min(c.desiredCount - c.primaryTasks, max - c.totalTasks));
  const stopHealthy = Math.max(0, c.healthyTasks - min);
  return { start, stopHealthy };
}

/**
 * ECS-style launch throttle: after `failures` consecutive tasks that failed to start, wait
 * base × 2^(failures-1), capped, before launching again. None below the first failure.
 */
export function launchDelayMs(failures: number, baseMs = 1000, capMs = 60_000): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 30));
}
