/**
 * Runs submitted jobs one at a time, in order: each task has one, which makes the task's worker
 * the single writer of its state. A sync requested while one is already waiting is merged into it.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private syncWaiting = false;

  constructor(private onError: (e: Error) => void) {}

  run(job: () => Promise<void>): Promise<void> {
    const next = this.tail.then(job).catch((e: Error) => this.onError(e));
    this.tail = next;
    return next;
  }

  /** Queues `job` unless an identical sync is already queued and not yet started. */
  sync(job: () => Promise<void>): void {
    if (this.syncWaiting) return;
    this.syncWaiting = true;
    void this.run(async () => {
      this.syncWaiting = false;
      await job();
    });
  }

  idle(): Promise<void> {
    return this.tail;
  }
}
