import { DEFAULT_STOP_TIMEOUT } from "./constants.ts";

/**
 * Mappings from task definition fields to Docker Engine API values that are easy to get wrong
 * (Docker wants nanoseconds). Pure; the agent builds the rest of its create-container body itself.
 */

const NS_PER_SECOND = 1_000_000_000;

/** Docker `HealthConfig` for a parsed healthCheck (defaults already filled in by the parser). */
export function dockerHealthConfig(hc: {
  command: readonly string[];
  interval: number;
  timeout: number;
  retries: number;
  startPeriod?: number | undefined;
}): { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } {
  if (hc.command[0] === "NONE") return { Test: ["NONE"] };
  return {
    Test: [...hc.command],
    Interval: hc.interval * NS_PER_SECOND,
    Timeout: hc.timeout * NS_PER_SECOND,
    Retries: hc.retries,
    ...(hc.startPeriod !== undefined ? { StartPeriod: hc.startPeriod * NS_PER_SECOND } : {}),
  };
}

/** Seconds to wait between SIGTERM and SIGKILL when stopping the container. */
export function stopTimeoutOf(c: { stopTimeout?: number | undefined }): number {
  return c.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
}
