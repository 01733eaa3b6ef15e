import type { Reservation } from "../../shared/task-definition/index.ts";
import type { CommitJob, CommitOutcome, InstanceClaim, JobFence, ReleaseJob, WriteJob, WriteReply } from "./commit-job.ts";
import type { NativeTarget } from "./native-connection.ts";
import type { EncodedTaskRows } from "./task-insert.ts";

interface Stack {
  /** Jobs on this instance still in flight, whose reservations the index already holds. */
  pending: Set<number>;
  /** Failed jobs whose reservations (and version bumps) the index still holds until it re-reads the instance. */
  phantoms: number;
}

interface Waiting {
  resolve(reply: WriteReply): void;
  reject(error: Error): void;
  /** The instances a commit claimed (none for a release). */
  instanceIds: string[];
}

/** What a release answers: the instance's version after it (null: nothing was reserved), or why not. */
export type ReleaseResult = { version: number | null } | "busy" | "fenced";

/**
 * The placement's writes on a worker thread (commit-worker.ts): commits, so that while one
 * RunTask's rows are written the main thread already places the next (on two cores the engine and
 * SQLite run side by side instead of taking turns), and releases, which then never wait for the
 * write lock on the main thread.
 *
 * The caller places, submits, and books the placements in the index at once (before any await),
 * so the next caller places on what is left. Each instance's version in the index then runs ahead
 * of the database by one per job in flight; a claim says which in-flight jobs its version counts
 * (InstanceClaim.after) and the worker discounts the ones that failed. Invariants kept here with
 * the index cache:
 *  - an instance with jobs in flight is never re-read from the database (`busy`), so the index
 *    keeps counting exactly the reservations its claims rely on;
 *  - a failed job's reservation stays in the index, counted in `phantoms` and subtracted from
 *    later claims, until the instance is re-read (`refreshed`).
 * Where this cannot be exact (a cluster index dropped and reloaded while jobs were in flight, an
 * outcome the worker no longer remembers) a claim expects a lower version than the row can have:
 * a conflict and a retry, never a wrong pass.
 */
export class CommitPipeline {
  private worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly stacks = new Map<string, Stack>();
  private ran = 0;
  /** Jobs submitted and not yet posted: they wait here while the worker writes the previous batch. */
  private outbox: WriteJob[] = [];
  /** A batch is with the worker and not yet answered. */
  private posted = false;
  private closed = false;
  private starts = 0;
  /** How long to wait before replacing a failed worker: 0 for the first failure, then doubling (reset by a reply). */
  private restartDelayMs = 0;

  constructor(private readonly target: NativeTarget) {
    this.worker = this.startWorker();
  }

  /** How many worker threads this pipeline has started (the first, and each that replaced a failed one). */
  get workerStarts(): number {
    return this.starts;
  }

  private startWorker(): Worker {
    this.starts++;
    const worker = new Worker(new URL("./commit-worker.ts", import.meta.url).href);
    this.posted = false;
    worker.onmessage = (event: MessageEvent<string>) => {
      this.restartDelayMs = 0;
      this.posted = false;
      for (const reply of JSON.parse(event.data) as WriteReply[]) this.settle(reply);
      // What was placed while the worker wrote goes at once, as its next group.
      this.flushOutbox();
    };
    worker.onerror = (event) => {
      // Its jobs fail (their reservations become phantoms, so later claims stay right) and a new
      // worker takes over; it knows no earlier outcomes, so claims naming them conflict and retry.
      this.failAll(new Error(`commit worker failed: ${event.message}`));
      worker.terminate();
      // Nothing more goes to the failed worker: jobs submitted until the replacement starts wait
      // in the outbox, and the replacement is sent them (startWorker).
      this.posted = true;
      // Once closed, nothing takes over: a worker that failed to open a database already closed
      // (and perhaps deleted) would otherwise be replaced by another that fails the same way,
      // a new thread every few milliseconds for as long as the process lives.
      if (this.closed) return;
      // A worker failing at once again (its database cannot be opened) is replaced less and less often.
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(Math.max(delay * 2, 50), 5000);
      if (delay === 0) this.worker = this.startWorker();
      else setTimeout(() => !this.closed && (this.worker = this.startWorker()), delay).unref();
    };
    worker.postMessage({ open: this.target });
    // Jobs submitted while a failed worker was being replaced.
    queueMicrotask(this.flushOutbox);
    // Nothing in flight means nothing to wait for: an idle pipeline must not keep the process up.
    worker.unref();
    return worker;
  }

  /** Whether the instance has commits in flight; its index entry must not be re-read until they end. */
  busy(instanceId: string): boolean {
    return (this.stacks.get(instanceId)?.pending.size ?? 0) > 0;
  }

  /** The index re-read these instances (all of them when `instanceIds` is omitted) from the database. */
  refreshed(instanceIds?: Iterable<string>): void {
    for (const id of instanceIds ?? [...this.stacks.keys()]) {
      const stack = this.stacks.get(id);
      if (stack && stack.pending.size === 0) this.stacks.delete(id);
    }
  }

  /**
   * Queues the commit of tasks placed on the index, whose versions `versionOf` reads; call it
   * synchronously after placement, then book the placements in the index. Resolves with the
   * outcome once the worker has run it; jobs run in submission order. With `fence`, the commit
   * happens only if that lease is still held, checked in the commit's own transaction.
   * `gpuIdsPerInstance`: the GPU ids the placed tasks take on each instance, when they need any.
   */
  submit(
    reservation: Reservation,
    tasksPerInstance: ReadonlyMap<string, number>,
    versionOf: (instanceId: string) => number,
    rows: EncodedTaskRows,
    fence?: JobFence,
    gpuIdsPerInstance?: ReadonlyMap<string, readonly string[]>,
  ): Promise<CommitOutcome> {
    const id = this.nextId++;
    const claims: InstanceClaim[] = [];
    for (const [instanceId, tasks] of tasksPerInstance) {
      let stack = this.stacks.get(instanceId);
      if (!stack) this.stacks.set(instanceId, (stack = { pending: new Set(), phantoms: 0 }));
      const gpuIds = gpuIdsPerInstance?.get(instanceId);
      claims.push({ instanceId, tasks, version: versionOf(instanceId) - stack.phantoms, after: [...stack.pending], ...(gpuIds?.length ? { gpuIds: [...gpuIds] } : {}) });
      stack.pending.add(id);
    }
    const job: CommitJob = { kind: "commit", id, reservation, claims, rows, ...(fence ? { fence } : {}) };
    return this.send(id, job, [...tasksPerInstance.keys()]).then((reply) => reply.outcome as CommitOutcome);
  }

  /** Queues the release of a stopped task's reservation; runs in order with the commits. */
  release(task: { id: string; instanceId: string; reservation: Reservation }, fence?: JobFence): Promise<ReleaseResult> {
    const id = this.nextId++;
    const job: ReleaseJob = { kind: "release", id, taskId: task.id, instanceId: task.instanceId, reservation: task.reservation, ...(fence ? { fence } : {}) };
    return this.send(id, job, []).then((reply) => (reply.outcome === "released" ? { version: reply.version } : (reply.outcome as "busy" | "fenced")));
  }

  /** Commits and releases submitted and not yet answered by the worker (/metrics). */
  get depth(): number {
    return this.waiting.size;
  }

  /** Writes answered by the worker, whatever their outcome: what shows that a write went through here. */
  get jobsRun(): number {
    return this.ran;
  }

  private send(id: number, job: WriteJob, instanceIds: string[]): Promise<WriteReply> {
    return new Promise<WriteReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, instanceIds });
      if (this.waiting.size === 1) this.worker.ref();
      this.outbox.push(job);
      if (this.outbox.length === 1 && !this.posted) queueMicrotask(this.flushOutbox);
    });
  }

  /**
   * One batch with the worker at a time: a job submitted while the worker is idle goes at once
   * (after the submitting section), the jobs submitted while it writes go together when it
   * answers. So the worker writes one RunTask while the main thread places the next ones, and
   * each wake-up of its thread (which on a busy machine costs the sender its core) carries all
   * that is waiting. Sending what one event-loop turn had submitted, as before, kept callers in
   * step: all of them placed, then all waited for the worker, and the threads took turns.
   * Batches go as one JSON string: Bun's structured clone of a small object cost ~100 µs on the
   * sending thread (more than placing a task), a string ~10 µs.
   */
  private readonly flushOutbox = () => {
    if (this.posted || this.outbox.length === 0) return;
    const jobs = this.outbox;
    this.outbox = [];
    this.posted = true;
    this.worker.postMessage(JSON.stringify(jobs));
  };

  close(): void {
    this.closed = true;
    this.failAll(new Error("the database was closed"));
    // The worker closes its connection and then itself; it is unref'd, so it holds nothing up.
    this.worker.postMessage({ close: true });
    this.worker.unref();
  }

  private settle(reply: WriteReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    this.ran++;
    if (this.waiting.size === 0) this.worker.unref();
    const committed = reply.outcome === "committed";
    for (const instanceId of waiting.instanceIds) {
      const stack = this.stacks.get(instanceId);
      if (!stack) continue;
      stack.pending.delete(reply.id);
      if (!committed) stack.phantoms++;
      else if (stack.pending.size === 0 && stack.phantoms === 0) this.stacks.delete(instanceId);
    }
    if (reply.outcome === "error") waiting.reject(new Error(`placement write failed: ${reply.message}`));
    else waiting.resolve(reply);
  }

  private failAll(error: Error): void {
    // Jobs not yet posted must never reach a worker once their callers were told they failed.
    this.outbox = [];
    for (const [id, waiting] of this.waiting) {
      for (const instanceId of waiting.instanceIds) {
        const stack = this.stacks.get(instanceId);
        if (stack?.pending.delete(id)) stack.phantoms++;
      }
      waiting.reject(error);
    }
    this.waiting.clear();
  }
}
