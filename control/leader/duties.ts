import type { OpsContext } from "../ops/context.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

/** Something only the leader runs (a reconciler loop); returns how to stop it. */
export type Duty = (ctx: OpsContext) => (() => void | Promise<void>) | Promise<() => void | Promise<void>>;

/**
 * The leader-only work of a control process. Without HA it starts everything at once with the
 * plain context. With HA, createControl starts the duties when this process is elected, with a
 * context whose writes are fenced by the lease (fenced-db.ts), and stops them when deposed.
 */
export class LeaderDuties {
  private duties = new Map<string, Duty>();
  private stops = new Map<string, () => void | Promise<void>>();
  private ctx: OpsContext | null = null;
  private chain: Promise<void> = Promise.resolve();

  private log: Logger;

  constructor(log: Logger = silentLogger) {
    this.log = withComponent(log, "leader");
  }

  /** Registers a duty; it starts right away if this process is leading now. */
  add(name: string, duty: Duty): void {
    if (this.duties.has(name)) throw new Error(`leader duty ${name} is already registered`);
    this.duties.set(name, duty);
    if (this.ctx) this.enqueue(() => this.startOne(name, duty, this.ctx!));
  }

  get active(): boolean {
    return this.ctx !== null;
  }

  /** Names of the duties running now. */
  running(): string[] {
    return [...this.stops.keys()];
  }

  /** Starts every duty with ctx (the fenced one under HA). */
  start(ctx: OpsContext): Promise<void> {
    return this.enqueue(async () => {
      if (this.ctx) return;
      this.ctx = ctx;
      for (const [name, duty] of this.duties) await this.startOne(name, duty, ctx);
    });
  }

  stop(): Promise<void> {
    return this.enqueue(async () => {
      this.ctx = null;
      for (const [name, stop] of [...this.stops]) {
        this.stops.delete(name);
        try {
          await stop();
        } catch (e) {
          this.log.error({ duty: name }, `stopping ${name} failed: ${(e as Error).message}`);
        }
      }
    });
  }

  private async startOne(name: string, duty: Duty, ctx: OpsContext): Promise<void> {
    try {
      this.stops.set(name, await duty(ctx));
    } catch (e) {
      this.log.error({ duty: name }, `starting ${name} failed: ${(e as Error).message}`);
    }
  }

  /** Start and stop never interleave: an election and a deposition in quick succession stay ordered. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
