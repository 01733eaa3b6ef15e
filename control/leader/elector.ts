import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "../clock.ts";
import type { Db } from "../db/open.ts";
import { acquireLease, readLease, releaseLease, renewLease, type Fence } from "./lease.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export const CONTROL_LEASE = "control-leader";
export const DEFAULT_LEASE_TTL_MS = 5000;

export interface ElectorOptions {
  db: Db;
  /** Unique per process incarnation; the default is host, pid and a random suffix. */
  holderId?: string;
  name?: string;
  /** How long a holding lasts without renewal: the failover time is at most ttl + ttl/3. */
  ttlMs?: number;
  clock?: Clock;
  log?: Logger;
  onElected?: (fence: Fence) => void | Promise<void>;
  onDeposed?: (fence: Fence) => void | Promise<void>;
}

export function defaultHolderId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/**
 * Keeps trying to hold one lease: the holder renews every ttl/3, others try to take it over every
 * ttl/3 (sooner when the current holding is about to expire). Leadership ends when a renewal is
 * refused or when the local deadline passes without a successful one (database unreachable), so
 * a leader cut off from the database stops acting before anyone else can be elected; writes are
 * fenced anyway (fence.ts), which is what makes an overlap harmless.
 */
export class LeaderElector {
  readonly holderId: string;
  readonly name: string;
  readonly ttlMs: number;
  private clock: Clock;
  private current: Fence | null = null;
  /** Local time after which this process no longer trusts its holding. */
  private deadline = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private ticking: Promise<void> | null = null;
  private log: Logger;

  constructor(private opts: ElectorOptions) {
    this.holderId = opts.holderId ?? defaultHolderId();
    this.name = opts.name ?? CONTROL_LEASE;
    this.ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!(this.ttlMs >= 300)) throw new Error(`lease TTL must be at least 300 ms, got ${this.ttlMs}`);
    this.clock = opts.clock ?? systemClock;
    this.log = withComponent(opts.log ?? silentLogger, "leader");
  }

  isLeader(): boolean {
    return this.current !== null && this.clock.now() < this.deadline;
  }

  /** The fencing token of the current holding (null when not leading). */
  get token(): number | null {
    return this.isLeader() ? this.current!.token : null;
  }

  /** What fenced writes must prove; null when not leading, so they are refused at once. */
  fence(): Fence | null {
    return this.isLeader() ? this.current : null;
  }

  /** Starts the loop; the first attempt runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the loop and, when leading, releases the lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    const held = this.current;
    if (!held) return;
    await this.depose("stopping");
    await releaseLease(this.opts.db, held).catch((e: Error) => this.log.warn(`could not release the lease: ${e.message}`));
  }

  /** One renewal or acquisition attempt; the loop calls it, tests call it with a fake clock. */
  async tick(): Promise<number> {
    const run = this.attempt();
    this.ticking = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Returns how long to wait before the next attempt. */
  private async attempt(): Promise<number> {
    const every = Math.floor(this.ttlMs / 3);
    const now = this.clock.now();
    try {
      if (this.current) {
        if (now >= this.deadline) await this.depose("the lease expired before it could be renewed");
        else {
          const renewed = await renewLease(this.opts.db, this.current, this.ttlMs, now);
          if (renewed) {
            this.deadline = now + this.ttlMs;
            return every;
          }
          await this.depose("the lease was taken over");
        }
      }
      const got = await acquireLease(this.opts.db, this.name, this.holderId, this.ttlMs, now);
      if (got) {
        this.current = { name: got.name, holder: got.holder, token: got.token };
        this.deadline = now + this.ttlMs;
        this.log.info({ holderId: this.holderId, fencingToken: got.token }, `${this.holderId} elected (token ${got.token})`);
        await this.opts.onElected?.(this.current);
        return every;
      }
      // Someone else holds it: try again right after it would expire, if that is sooner.
      const held = await readLease(this.opts.db, this.name);
      return held ? Math.max(20, Math.min(every, held.expiresAt - now + 20)) : every;
    } catch (e) {
      this.log.warn(`lease attempt failed: ${(e as Error).message}`);
      if (this.current && this.clock.now() >= this.deadline) await this.depose("the database was unreachable until the lease expired");
      return Math.max(20, Math.min(every, this.current ? this.deadline - this.clock.now() : every));
    }
  }

  private async depose(why: string): Promise<void> {
    const was = this.current;
    if (!was) return;
    this.current = null;
    this.deadline = 0;
    this.log.warn({ holderId: this.holderId, fencingToken: was.token }, `${this.holderId} deposed (token ${was.token}): ${why}`);
    try {
      await this.opts.onDeposed?.(was);
    } catch (e) {
      this.log.error(`onDeposed failed: ${(e as Error).message}`);
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick().then(
        (next) => this.schedule(next),
        () => this.schedule(Math.floor(this.ttlMs / 3)),
      );
    }, ms);
  }
}
