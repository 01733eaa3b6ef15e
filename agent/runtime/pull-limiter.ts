import type { ContainerRuntime } from "./types.ts";

/** Default for --max-concurrent-pulls: two pulls share a thin link without one starving. */
export const DEFAULT_MAX_CONCURRENT_PULLS = 2;

/**
 * At most `limit` image pulls at a time on this host, first come first served. Every pull of
 * the agent (task starts through limitPulls, prefetches through run) takes a slot here, so a
 * prefetch of ten images cannot saturate a slow uplink under a task that needs its image now.
 */
export class PullLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  private current: number;

  constructor(limit: number = DEFAULT_MAX_CONCURRENT_PULLS) {
    this.current = checked(limit);
  }

  get limit(): number {
    return this.current;
  }

  /**
   * A new limit (the control's `flotilla.max-concurrent-pulls` attribute, else the flag's). Raised:
   * waiting pulls start at once; lowered: running pulls finish, and new ones wait below it.
   */
  setLimit(limit: number): void {
    this.current = checked(limit);
    while (this.active < this.current && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()!();
    }
  }

  /** Pulls holding a slot now / waiting for one (introspection and tests). */
  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs fn once a slot is free; the slot is given back however fn ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.current) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (active stays counted), unless the limit was
      // lowered below the pulls running; else free it.
      const next = this.active <= this.current ? this.waiting.shift() : undefined;
      if (next) next();
      else this.active--;
    }
  }
}

function checked(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`pull limit must be a positive integer, got ${limit}`);
  return limit;
}

/**
 * The runtime with ensureImage going through the limiter; everything else is the runtime's own.
 * A call that finds the image cached also waits for a slot: ensureImage decides whether to pull
 * inside, and a cached look-up is quick, so the wait is short.
 */
export function limitPulls<R extends ContainerRuntime>(runtime: R, limiter: PullLimiter): R {
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop !== "ensureImage") return value.bind(target);
      return (...args: Parameters<ContainerRuntime["ensureImage"]>) => limiter.run(() => (value as ContainerRuntime["ensureImage"]).apply(target, args));
    },
  });
}
