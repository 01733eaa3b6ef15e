/**
 * WAL checkpoints off the main thread. SQLite's automatic checkpoint runs inside whichever COMMIT
 * crosses the WAL threshold (a ~20 ms stall in the slowest RunTask calls), and a checkpoint on a
 * main-thread timer blocks the event loop instead: ~220 ms per second of placements at 7,000 per
 * second, which every request arriving meanwhile waits out. One worker thread per process, shared
 * by every open database file, checkpoints them all on its own timer (checkpoint-worker.ts).
 */
let worker: Worker | undefined;

/** Starts checkpointing `file` in the background; the returned function stops it. */
export function checkpointInBackground(file: string): () => void {
  if (!worker) {
    worker = new Worker(new URL("./checkpoint-worker.ts", import.meta.url).href);
    // An idle checkpointer must not keep the process alive.
    worker.unref();
  }
  const w = worker;
  w.postMessage({ add: file });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    w.postMessage({ remove: file });
  };
}
