/**
 * When to try the next broker after a connection is lost or an attempt fails. The broker URLs
 * are tried in order, starting over after the last; a lost node is left for the next one
 * almost at once, and the wait doubles with each failed attempt in a row up to a cap, with
 * jitter (each wait drawn from its upper half), so a fleet that lost its node does not reach
 * the next one in lock step. A connection that comes up starts the count again.
 */
export interface BackoffOptions {
  /** Wait before the first retry (before jitter). */
  initialMs?: number;
  /** Longest wait (before jitter). */
  maxMs?: number;
  /** [0, 1): injected by tests. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 5_000 } as const;

export class ReconnectBackoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.random = opts.random ?? Math.random;
  }

  /** The wait before the next attempt; each call counts one more failure. */
  nextDelayMs(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** A connection is up: the next loss retries quickly again. */
  reset(): void {
    this.failures = 0;
  }
}
