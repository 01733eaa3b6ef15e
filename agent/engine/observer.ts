import type { ContainerRuntime, RuntimeContainer } from "../runtime/types.ts";
import type { Logger } from "../../shared/log.ts";

export interface ObserverOptions {
  runtime: ContainerRuntime;
  /** The labels every container of this agent carries. */
  labels: Record<string, string>;
  /** How often the containers are listed again (the truth; runtime events are only hints). */
  intervalMs: number;
  /** One listing of every labelled container, handed on (the observer decides nothing). */
  onListing(listed: RuntimeContainer[]): Promise<void>;
  /** A runtime event arrived (a listing follows). */
  onHint(): void;
  log: Logger;
}

/**
 * Watches the runtime: Docker events and a periodic relist. It only reports what it saw; the task
 * runners decide what it means for their tasks. Overlapping relists are merged into one more.
 */
export class Observer {
  private timer?: ReturnType<typeof setInterval>;
  private unwatch?: () => void;
  private relisting: Promise<void> | null = null;
  private relistAgain = false;

  constructor(private opts: ObserverOptions) {}

  start(): void {
    this.unwatch = this.opts.runtime.watch(this.opts.labels, () => {
      this.opts.onHint();
      void this.relist();
    });
    this.timer = setInterval(() => void this.relist(), this.opts.intervalMs);
    void this.relist();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unwatch?.();
    await this.relisting;
  }

  relist(): Promise<void> {
    if (this.relisting) {
      this.relistAgain = true;
      return this.relisting;
    }
    this.relisting = (async () => {
      do {
        this.relistAgain = false;
        try {
          await this.opts.onListing(await this.opts.runtime.list(this.opts.labels));
        } catch (e) {
          this.opts.log.warn(`relist failed: ${(e as Error).message}`);
        }
      } while (this.relistAgain);
      this.relisting = null;
    })();
    return this.relisting;
  }
}
