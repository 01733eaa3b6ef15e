/**
 * The per-host pull limit the control can set: a custom attribute on the container instance
 * (PutAttributes), handed to the agent in its desired set, where it overrides the agent's
 * --max-concurrent-pulls. An attribute, so one `attribute:site == shop-12` query of instances
 * finds what a site has, and the console and CLI show it with the others.
 */
export const PULL_LIMIT_ATTRIBUTE = "flotilla.max-concurrent-pulls";
export const MAX_PULL_LIMIT = 64;

/** The attribute's value as a limit, or undefined when it is no whole number in 1..64. */
export function parsePullLimit(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,2}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= MAX_PULL_LIMIT ? n : undefined;
}
