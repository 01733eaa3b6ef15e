/**
 * Worker thread body for commit-pipeline.ts: runs the placement's writes (commits and releases)
 * on their own connection in the order they arrive, the jobs that queued up meanwhile together in
 * one transaction, and answers each job with its outcome.
 */
import { CommitConnection } from "./commit-connection.ts";
import type { WriteJob, WriteReply } from "./commit-job.ts";
import type { NativeTarget } from "./native-connection.ts";

declare const self: Worker;

/** How long a write waits for another connection's write lock before answering "busy". */
const BUSY_TIMEOUT_MS = 5000;
/**
 * Outcomes remembered for later claims (InstanceClaim.after names jobs that were in flight when a
 * placement was made, so only the last few matter). A claim naming a job no longer remembered
 * fails as a conflict: a retry, never a wrong pass.
 */
const REMEMBERED_OUTCOMES = 65_536;

let connection: CommitConnection | undefined;
/** commit job id → committed? */
const outcomes = new Map<number, boolean>();
/** Jobs that arrived while the previous group was being written; they go together next. */
let queue: WriteJob[] = [];
let flushing = false;

self.onmessage = (event: MessageEvent<{ open: NativeTarget } | { close: true } | string>) => {
  const data = event.data;
  if (typeof data === "string") {
    // A batch of jobs, as JSON (see CommitPipeline.flushOutbox).
    for (const job of JSON.parse(data) as WriteJob[]) queue.push(job);
    // Messages that arrive before the next turn join this group.
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
    return;
  }
  if ("open" in data) {
    connection = new CommitConnection(data.open, BUSY_TIMEOUT_MS);
    return;
  }
  if ("close" in data) {
    // Jobs still queued were already failed on the other side.
    queue = [];
    connection?.close();
    connection = undefined;
    // libSQL keeps a connection open while any statement prepared on it lives; they go with a
    // collection whose finalizers run on the next turn. Only then may the thread end.
    Bun.gc(true);
    setTimeout(() => {
      Bun.gc(true);
      setTimeout(() => process.exit(0), 10);
    }, 10);
    return;
  }
};

function flush(): void {
  flushing = false;
  const jobs = queue;
  queue = [];
  if (jobs.length === 0) return;
  let replies: WriteReply[];
  try {
    if (!connection) throw new Error("commit worker has no open database");
    replies = connection.writeGroup(jobs, outcomes);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    replies = jobs.map((job) => ({ id: job.id, outcome: "error", message }));
  }
  for (const job of jobs) if (job.kind === "commit" && !outcomes.has(job.id)) outcomes.set(job.id, false);
  while (outcomes.size > REMEMBERED_OUTCOMES) outcomes.delete(outcomes.keys().next().value!);
  postMessage(JSON.stringify(replies));
}
