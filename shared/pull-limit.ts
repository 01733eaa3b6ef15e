/**
 * The per-host pull limit the control can set: a custom attribute on the container instance
 * (PutAttributes), handed to the agent in its desired set, where it overrides the agent's
 * --max-concurrent-pulls. An attribute, so one `attribute:site == shop-12` query of instances
 * finds what a site has, and the console and CLI show it with the others.
 */
export const PULL_LIMIT_ATTRIBUTE = "flotilla.max-concurrent-pulls";
export const MAX_PULL_LIMIT = 64;

/**
 * The per-host pull bandwidth cap in bytes per second (at least 1024): under it the agent pulls
 * through its own registry client (agent/runtime/registry/), as dockerd cannot be throttled.
 */
export const PULL_BANDWIDTH_ATTRIBUTE = "flotilla.max-pull-bytes-per-second";
export const MIN_PULL_BANDWIDTH = 1024;

/** The bandwidth attribute's value, or undefined when it is no whole number of at least 1024. */
export function parsePullBandwidth(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,12}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= MIN_PULL_BANDWIDTH ? n : undefined;
}

/** The attribute's value as a limit, or undefined when it is no whole number in 1..64. */
export function parsePullLimit(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,2}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= MAX_PULL_LIMIT ? n : undefined;
}
