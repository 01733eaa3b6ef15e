/**
 * ECS container restart policy (as amazon-ecs-agent's RestartTracker decides it): restart an exited
 * container in place unless its exit code is ignored or it has not run for restartAttemptPeriod
 * seconds since it started (or since its last restart).
 */
export interface RestartPolicy {
  enabled: boolean;
  ignoredExitCodes: number[];
  /** Seconds. */
  restartAttemptPeriod: number;
}

export type RestartDecision = { restart: true } | { restart: false; why: string };

export function restartDecision(
  policy: RestartPolicy | undefined,
  exit: { exitCode: number | undefined; startedAt: number | undefined; lastRestartAt: number | undefined; desiredRunning: boolean },
  now: number,
): RestartDecision {
  if (!policy?.enabled) return { restart: false, why: "restart policy is not enabled" };
  if (!exit.desiredRunning) return { restart: false, why: "the task is stopping" };
  if (exit.exitCode === undefined) return { restart: false, why: "exit code is unknown" };
  if (policy.ignoredExitCodes.includes(exit.exitCode)) return { restart: false, why: `exit code ${exit.exitCode} is ignored` };
  const since = exit.lastRestartAt ?? exit.startedAt ?? now;
  if (now - since < policy.restartAttemptPeriod * 1000) {
    return { restart: false, why: `it ran less than the restartAttemptPeriod of ${policy.restartAttemptPeriod} s` };
  }
  return { restart: true };
}
