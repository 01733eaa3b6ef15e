/**
 * Failed-authentication limiter per client address: after `maxFailures` failures within
 * `windowMs`, connections from that address are refused without checking credentials until
 * `blockMs` passes. A success does not reset the count (a guesser with one valid credential must
 * not get free tries). Memory is bounded: old entries are swept.
 */
export interface AuthRateLimitOptions {
  maxFailures?: number;
  windowMs?: number;
  blockMs?: number;
  now?: () => number;
  maxTracked?: number;
}

export class AuthRateLimiter {
  private failures = new Map<string, { count: number; windowStart: number; blockedUntil: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly now: () => number;
  private readonly maxTracked: number;

  constructor(opts: AuthRateLimitOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.blockMs = opts.blockMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.maxTracked = opts.maxTracked ?? 10_000;
  }

  /** True while the address is blocked. */
  blocked(address: string): boolean {
    const e = this.failures.get(address);
    return e !== undefined && e.blockedUntil > this.now();
  }

  recordFailure(address: string): void {
    const now = this.now();
    let e = this.failures.get(address);
    if (!e || now - e.windowStart > this.windowMs) {
      if (!e && this.failures.size >= this.maxTracked) this.sweep(now);
      e = { count: 0, windowStart: now, blockedUntil: e?.blockedUntil ?? 0 };
      this.failures.set(address, e);
    }
    e.count++;
    if (e.count >= this.maxFailures) e.blockedUntil = now + this.blockMs;
  }

  private sweep(now: number): void {
    for (const [k, e] of this.failures) if (e.blockedUntil <= now && now - e.windowStart > this.windowMs) this.failures.delete(k);
    // Still full (a flood of addresses): forget the oldest rather than grow without bound.
    if (this.failures.size >= this.maxTracked) {
      const first = this.failures.keys().next().value;
      if (first !== undefined) this.failures.delete(first);
    }
  }
}
