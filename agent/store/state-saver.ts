import type { AgentState, StateStore } from "./state-file.ts";
import { silentLogger, type Logger } from "../../shared/log.ts";

export interface StateSaverOptions {
  store: StateStore;
  /** The durable state as it is now (built when the write happens, so it is the latest). */
  snapshot: () => AgentState;
  /** How long changes are gathered into one write (a burst of changes is one write). */
  delayMs?: number;
  log?: Logger;
}

/** Changes within this long of the first are written together. */
export const DEFAULT_SAVE_DELAY_MS = 25;

/**
 * Coalesces state saves: every change marks the state dirty, and one timer later the whole state is
 * written once (atomically, by the store). A crash loses at most the last delay's changes, which the
 * agent recovers from the runtime on restart (containers are re-adopted by their labels).
 */
export class StateSaver {
  private timer?: ReturnType<typeof setTimeout>;
  private readonly delayMs: number;
  private waiters: (() => void)[] = [];
  /** Writes done, for tests and benchmarks. */
  writes = 0;

  constructor(private opts: StateSaverOptions) {
    this.delayMs = opts.delayMs ?? DEFAULT_SAVE_DELAY_MS;
  }

  markDirty(): void {
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /**
   * Resolves once what is pending now has been written (at once when nothing is): a new task's
   * runner waits for it before its first runtime call, so a container never exists for a task the
   * state file does not know (a restarted agent would take it for an orphan and remove it).
   */
  written(): Promise<void> {
    if (this.timer === undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes now if anything is pending (also used when a value must be durable before it is used). */
  flush(): void {
    if (this.timer === undefined) return;
    this.saveNow();
  }

  /** Writes now whether or not anything is pending. */
  saveNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.opts.store.save(this.opts.snapshot());
      this.writes++;
    } catch (e) {
      // A full disk must not stop the engine: the next change tries again.
      (this.opts.log ?? silentLogger).error(`saving state failed: ${(e as Error).message}`);
    }
    // Also after a failed write: the agent goes on without durability rather than stop working.
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
